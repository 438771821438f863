import asyncio

import pytest

from demo.loopback import run


def test_demo_connects_echoes_and_transfers(capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(asyncio.wait_for(run(megabytes=1), 60))
    out = capsys.readouterr().out
    assert "DTLS connected" in out
    assert "first echoed message ('ping')" in out
    assert "sent 1 MiB" in out
    assert "closed: closed, closed" in out
