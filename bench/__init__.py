"""Benchmarks: each scenario runs pywebrtc and a peer (usually aiortc) in the same run and
reports the ratio. ``python -m bench NAME`` (or ``all``); results are appended to
``docs/benchmarks.md``."""
