"""Builds the C extensions, all optional: without them everything runs as pure Python.

* relay._fastloop, the relay's C forwarding loops (relay/_fastloop.c, Linux only); without it
  the relay forwards with its pure-Python loops (relay.hotloop).
* The per-packet path compiled by mypyc: the modules listed in pywebrtc/_mypyc.py (MODULES),
  as one shared library and a small extension per module. Skipped with PYWEBRTC_NO_MYPYC=1,
  without mypyc (a build requirement in pyproject.toml), or when its type check fails: it
  checks against the installed dependencies, so a fresh environment must have them before
  (the Makefile installs them, then builds). PYWEBRTC_PURE=1 at run time ignores a build.

If an extension cannot be compiled (no compiler, no Python headers, not Linux), setuptools
warns and installs the rest; pywebrtc/_mypyc.py runs the compiled modules' source unless their
shared library was built. Everything else is in pyproject.toml.
"""

import os
import runpy
import sys

from setuptools import Extension, setup


def _mypyc_extensions() -> list[Extension]:
    if os.environ.get("PYWEBRTC_NO_MYPYC") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("warning: no mypyc: the per-packet path runs as Python", file=sys.stderr)
        return []
    listed = runpy.run_path(os.path.join("pywebrtc", "_mypyc.py"))
    paths = [os.path.join(*module.split(".")) + ".py" for module in listed["MODULES"]]
    group = listed["SHARED_LIBRARY"].removesuffix("__mypyc")
    try:
        extensions = list(mypycify(paths, group_name=group, opt_level="3"))
    except (Exception, SystemExit) as error:  # mypy's type check failed (it printed why)
        # As in a fresh environment, whose dependencies are installed after the build: the
        # Makefile installs them first, then builds again (tests/test_mypyc.py notices a build
        # that fell back where it could have compiled).
        print(f"warning: mypyc failed ({error!r}): the hot path runs as Python", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True
    return extensions


setup(
    ext_modules=[
        Extension(
            "relay._fastloop",
            ["relay/_fastloop.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        ),
        *_mypyc_extensions(),
    ]
)
