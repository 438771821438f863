"""The demos of the repository, outside the library: ``pywebrtc-demo`` runs
:mod:`demo.loopback` (two peers on loopback UDP). The voice agent will live here.
"""
