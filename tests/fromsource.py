"""Tests that patch a method of a class mypyc compiled: compiled code calls the method's C
directly, so a patch on the class changes nothing there. Such a test runs again in a child
pytest with ``PYWEBRTC_PURE=1`` (the same source, interpreted), where the patch takes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pywebrtc import _mypyc


def rerun_from_source(request: pytest.FixtureRequest, module: str) -> bool:
    """If ``module`` is compiled, run this test from source in a child process, fail if it
    fails there, and return True (the caller returns); False: go on in this process."""
    if not _mypyc.compiled(module):
        return False
    env = {**os.environ, "PYWEBRTC_PURE": "1"}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    # 0: it ran and passed (5 would be "nothing collected")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return True
