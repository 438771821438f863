"""Builds relay._fastloop, the relay's C forwarding loops (relay/_fastloop.c, Linux only).

Optional: if it cannot be built (no compiler, no Python headers, not Linux), setuptools warns
and installs the rest, and the relay forwards with its pure-Python loops (relay.hotloop).
Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "relay._fastloop",
            ["relay/_fastloop.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
