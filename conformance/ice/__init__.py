"""Interop of pywebrtc.ice with aioice on loopback."""
