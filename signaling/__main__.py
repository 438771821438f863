from signaling.cli import main

main()
