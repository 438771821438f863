"""Tests of pywebrtc.ice."""
