"""``python -m relay``: the same as ``pywebrtc-relay``."""

from relay.cli import main

main()
