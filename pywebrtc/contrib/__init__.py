"""Helpers around the W3C API, under aiortc's ``aiortc.contrib`` names (:mod:`.media`)."""
