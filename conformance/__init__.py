"""Interop tests against real peers nobody here wrote (browsers, aiortc, OpenSSL, coturn, ...)."""
