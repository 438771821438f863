"""Checks that hold for every test, in tests/ and conformance/."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

_REALTIME = (os.SCHED_FIFO, os.SCHED_RR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A test that leaves the test process at real-time priority fails (and the process is put
    back): every browser or server started afterwards would inherit it, and one busy process at
    SCHED_FIFO starves a 2-core machine (SVT-AV1 run as root did this, see
    pywebrtc.media.video.codecs.Av1Encoder)."""
    result = yield
    if os.sched_getscheduler(0) in _REALTIME:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        raise AssertionError(f"{item.nodeid} left the test process at real-time priority")
    return result
