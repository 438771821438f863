"""A smoke run of ``bench/echopath.py`` at tiny sizes, bare and as a browser's session: every
packet is echoed, and the browser's sessions get transport-cc feedback (the server takes the
path the option is there to measure)."""

from __future__ import annotations

import asyncio

import pytest

from bench.echopath import measure


@pytest.mark.parametrize("browser", [False, True], ids=["bare", "browser"])
def test_every_packet_is_echoed(browser: bool) -> None:
    result = asyncio.run(measure(3, 10, 2, 2, browser=browser))
    assert result["packets"] == result["echoed"] == 30
    assert result["us_per_packet_min"] > 0
    if browser:
        assert result["feedback_sent"] >= 3  # at least one per session
    else:
        assert result["feedback_sent"] == 0
