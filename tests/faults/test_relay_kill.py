"""kill -9 of a relay mid-call, a replacement started on the same address: with the Redis route
cache the call's data channel resumes within ``RESUME`` and its audio within ``RTP_RESUME`` of the
replacement being ready (issue 15: 100 ms); without Redis (a replacement given its transceiver by
``--transceiver``), at the client's next consent check. No session is lost either way."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.client import Client
from tests.faults.conftest import Fleet

# The figure: audio within 100 ms of the replacement's readiness, asserted on the echoed
# RTP as it reaches the client (before aiortc's jitter buffer). Ready means the replacement has
# read the registry and connected to Redis; packets that reach it while their route is looked
# up are held, not dropped. Measured on a loaded 2-core host (load average 8-14): echoed RTP
# 0-20 ms after readiness (48 ms at most), the first echoed message 15-50 ms (132 ms at most:
# SCTP waits for three miss reports before it retransmits what the outage lost, RFC 9260
# §7.2.4), decoded audio mostly like RTP, but 270 ms once: aiortc's jitter buffer, in the
# client, may add its own wait after the gap.
RTP_RESUME = 0.1
RESUME = 0.25  # to the first echoed data channel message
AUDIO_RESUME = 1.0  # to the first decoded echoed audio frame
# Without the route cache the relay learns the client from its next consent check: aiortc sends
# one every 4-6 s. SCTP's retransmission timer, backed off during the outage, delays messages.
CONSENT_RESUME = 6.5
SCTP_BACKOFF = 4.0


@pytest.mark.parametrize("cache", ["redis", "no-redis"])
def test_relay_kill_9_and_replacement_on_the_same_address(fleet: Fleet, cache: str) -> None:
    ident = 101 if cache == "redis" else 102
    (trx,) = fleet.transceivers(("trx1", ident, ()))
    relay_ip = fleet.topology["relay1"].address

    async def body() -> dict[str, float]:
        client = Client()
        other = Client()  # through relay2: must not notice anything
        try:
            await client.connect(trx.url, relay_ip)
            await other.connect(trx.url, fleet.topology["relay2"].address)
            await client.wait_echoes(25)
            audio_before = len(client.audio)
            fleet.relays["relay1"].kill()
            killed = time.monotonic()
            fleet.relays["relay1"].close()
            if cache == "redis":
                replacement = await asyncio.to_thread(fleet.start_relay, "relay1")
            else:
                transceiver = f"{ident}={fleet.topology['trx1'].address}:{trx.udp_port}"
                replacement = await asyncio.to_thread(
                    fleet.start_relay, "relay1", ("--transceiver", transceiver)
                )
            ready = replacement.ready_at
            if cache == "no-redis":
                await client.wait_echoes(25, timeout=CONSENT_RESUME + SCTP_BACKOFF)
                deadline = time.monotonic() + 5
                while (not client.rtp or client.rtp[-1] < ready) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            await client.wait_echoes(25)
            await asyncio.sleep(1)  # aiortc's jitter buffer takes its time after a gap
            message, rtp, audio = client.resumed(ready)
            figures = {
                "replacement_startup_s": ready - killed,
                "audio_frames_before_kill": audio_before,
                "message_resume_after_ready_ms": message * 1000,
                "rtp_resume_after_ready_ms": rtp * 1000,
                "decoded_audio_resume_after_ready_ms": audio * 1000,
                "message_gap_total_ms": client.longest_gap(killed - 0.1) * 1000,
                "other_relay_longest_gap_ms": other.longest_gap(killed - 0.1) * 1000,
                "sessions_connected": trx.metric("pywebrtc_sessions", 'state="connected"'),
            }
            print(f"relay kill -9 ({cache}):", figures)
            if cache == "redis":
                assert rtp < RTP_RESUME, figures
                assert message < RESUME and audio < AUDIO_RESUME, figures
            else:
                assert rtp < CONSENT_RESUME and message < CONSENT_RESUME + SCTP_BACKOFF, figures
            assert figures["other_relay_longest_gap_ms"] < 1000, figures
            assert figures["sessions_connected"] == 2, figures
            return figures
        finally:
            await client.close()
            await other.close()

    try:
        fleet.run(body)
    finally:
        trx.terminate()
        trx.close()
        if cache == "no-redis":  # the next tests want a relay reading the registry
            fleet.relays["relay1"].close()
            fleet.start_relay("relay1")
