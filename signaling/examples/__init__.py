"""Example applications for ``pywebrtc-signaling --app signaling.examples.MODULE:CALLABLE``."""
