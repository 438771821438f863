"""A client's address changes mid-call (NAT rebinding, Wi-Fi → mobile): the client sits behind
the userspace NAT of ``tests/impair.py`` on the ``nat`` host (an impaired path: delay, jitter,
reordering, duplication), which takes a new source port for it (SIGUSR1); the relay sees the
same session from a new address and the session continues."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.client import Client
from tests.faults.conftest import RELAY_PORT, Fleet
from tests.relay.relayproc import REPO

NAT_PORT = 3478
# aiortc sends a consent check every 4–6 s; the relay learns the new address from it (ufrag
# routing) and the transceiver's lite agent moves its selected pair to it (the old one being
# quiet), so audio is back at the latest one consent interval later. Data-channel messages wait
# for SCTP's retransmission timer too, which backs off while the path is down.
RESUME = 6.5
SCTP_BACKOFF = 4.0
# A mobile-ish path each way: 20 ms ± 5 ms, 1 % reordered, 1 % duplicated (no loss: a lost
# consent check would put the resumption off by a whole interval and make the figure noise).
IMPAIRMENT = ("--delay", "0.02", "--jitter", "0.005", "--reorder", "0.01", "--duplicate", "0.01",
              "--seed", "15")  # fmt: skip


@pytest.fixture
def nat(fleet: Fleet) -> Iterator[subprocess.Popen[str]]:
    host = fleet.topology["nat"]
    process = subprocess.Popen(
        [*host.prefix, sys.executable, "-m", "tests.impair",
         "--listen", f"{host.address}:{NAT_PORT}",
         "--forward", f"{fleet.topology['relay1'].address}:{RELAY_PORT}", *IMPAIRMENT],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "impair ready"
        yield process
    finally:
        process.kill()
        process.wait()


def test_nat_rebinding_mid_call_the_session_continues(
    fleet: Fleet, nat: subprocess.Popen[str]
) -> None:
    (trx,) = fleet.transceivers(("trx2", 301, ()))
    relay_ip = fleet.topology["relay1"].address
    through = f"{fleet.topology['nat'].address}:{NAT_PORT}"

    async def body() -> None:
        client = Client()
        try:
            await client.connect(trx.url, relay_ip, rewrite=through)
            await client.wait_echoes(25)
            nat.send_signal(signal.SIGUSR1)
            rebound = time.monotonic()
            await client.wait_echoes(25, timeout=RESUME + SCTP_BACKOFF + 1)
            deadline = time.monotonic() + 5
            while not client.rtp or client.rtp[-1] < rebound + 0.05:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            _, rtp, _ = client.resumed(rebound + 0.05)
            figures: dict[str, Any] = {
                "longest_message_gap_ms": client.longest_gap(rebound) * 1000,
                "rtp_after_rebinding_ms": rtp * 1000,
                "messages_lost": len(client.lost()),
                "messages_echoed": len(client.received),
                "state": client.pc.connectionState,
                "sessions_connected": trx.metric("pywebrtc_sessions", 'state="connected"'),
            }
            print("NAT rebinding:", figures)
            assert figures["state"] == "connected", figures
            assert figures["sessions_connected"] == 1, figures
            assert rtp < RESUME, figures
            assert client.longest_gap(rebound) < RESUME + SCTP_BACKOFF, figures
        finally:
            await client.close()

    try:
        fleet.run(body)
    finally:
        trx.terminate()
        trx.close()
