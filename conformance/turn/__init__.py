"""Interop of :mod:`pywebrtc.ice.turn` against a real coturn server started by the tests."""
