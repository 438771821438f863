"""Sessions created and ended in bulk leave nothing behind: 10,000 WHIP sessions (50 at a time)
POSTed and DELETEd, then the session gauges, the mux's ufrag and address tables are all zero,
and the process's resident memory has not grown with the second half of the sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.signaling.bad_offers import OFFER
from tests.signaling.service import SignalingProcess

SESSIONS = 10_000
STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _churn(url: str, count: int) -> None:
    async with aiohttp.ClientSession() as http:
        semaphore = asyncio.Semaphore(50)

        async def one() -> None:
            async with semaphore:
                headers = {"Content-Type": "application/sdp"}
                async with http.post(url + "/whip", data=OFFER, headers=headers) as response:
                    assert response.status == 201, await response.text()
                    location = response.headers["Location"]
                async with http.delete(url + location) as response:
                    assert response.status == 200

        await asyncio.gather(*(one() for _ in range(count)))


def test_sessions_created_and_ended_leave_nothing_behind() -> None:
    service = SignalingProcess("--max-sessions", "100")
    try:
        asyncio.run(_churn(service.url, SESSIONS // 2))
        half = _rss_kib(service.process.pid)
        asyncio.run(_churn(service.url, SESSIONS // 2))
        grown = _rss_kib(service.process.pid) - half
        assert service.metric("pywebrtc_sessions_created_total") == SESSIONS
        assert service.metric("pywebrtc_sessions_ended_total", 'reason="deleted"') == SESSIONS
        assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0
        assert service.metric("pywebrtc_udp_mux_sessions") == 0
        assert service.metric("pywebrtc_udp_mux_addresses") == 0
        assert grown < 4 * 1024, f"RSS grew {grown} KiB over the second {SESSIONS // 2}"
    finally:
        assert service.terminate() == 0, service.output()
        service.close()
