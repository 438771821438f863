"""Redis down and back across hosts: calls go on, a new session is still routed by its ufrag, the
registry comes back. A transceiver at capacity: new offers are redirected (307) to one with room,
or refused with 503 + Retry-After when every one is full, and nothing is half made."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.faults.client import Client
from tests.faults.conftest import HEARTBEAT, Fleet, until
from tests.signaling.service import request

SDP = {"Content-Type": "application/sdp"}


def test_redis_down_and_back_is_not_an_outage(fleet: Fleet) -> None:
    one, two = fleet.transceivers(("trx1", 401, ()), ("trx3", 403, ()))
    relay1 = fleet.topology["relay1"].address
    relay2 = fleet.topology["relay2"].address

    async def body() -> None:
        calls = [Client(), Client()]
        await calls[0].connect(one.url, relay1)
        await calls[1].connect(two.url, relay2)
        fresh = Client()
        try:
            await calls[0].wait_echoes(10)
            fleet.stop_redis()
            down = time.monotonic()
            await asyncio.to_thread(
                until,
                lambda: one.metric("pywebrtc_registry_registered") == 0,
                "transceiver noticed Redis is gone",
            )
            noticed = time.monotonic() - down
            await fresh.connect(one.url, relay2)  # routed by its ufrag, no Redis
            for client in (*calls, fresh):
                await client.wait_echoes(25)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(fleet.start_redis)
            up = time.monotonic()
            await asyncio.to_thread(
                until, lambda: fleet.entry(401) and fleet.entry(403), "registered again"
            )
            recovered = time.monotonic() - up
            for client in (*calls, fresh):
                await client.wait_echoes(10)
            figures: dict[str, Any] = {
                "redis_down_noticed_after_s": noticed,
                "registry_recovered_after_s": recovered,
                "longest_gap_while_down_ms": [c.longest_gap(down) * 1000 for c in calls],
                "messages_lost": [len(c.lost()) for c in (*calls, fresh)],
                "new_session_while_down": fresh.pc.connectionState,
            }
            print("Redis down and back:", figures)
            assert figures["messages_lost"] == [0, 0, 0], figures
            assert max(figures["longest_gap_while_down_ms"]) < 500, figures
            assert recovered < 3.0, figures
        finally:
            for client in (*calls, fresh):
                await client.close()

    try:
        fleet.run(body)
    finally:
        if fleet.redis_process is None or fleet.redis_process.poll() is not None:
            fleet.start_redis()
        for service in (one, two):
            service.terminate()
            service.close()


def test_a_full_transceiver_redirects_or_refuses_and_makes_nothing_half(fleet: Fleet) -> None:
    full = ("--max-sessions", "1")
    one, two = fleet.transceivers(("trx1", 501, full), ("trx2", 502, full))
    relay1 = fleet.topology["relay1"].address

    async def body() -> None:
        first, second = Client(), Client()
        try:
            await first.connect(one.url, relay1)
            started = time.monotonic()
            await second.connect(one.url, relay1, redirect_to=two.url)
            redirected_in = time.monotonic() - started
            # Both full now: a new offer to either is refused, never half made.
            await asyncio.to_thread(
                until,
                lambda: all((fleet.load(i) or {}).get("sessions") == 1 for i in (501, 502)),
                "load published",
            )
            # A transceiver's view of the others' load is one heartbeat old: right after they
            # filled up it may still redirect, and the redirected offer is refused there.
            chains = []
            for service in (one, two):
                chain = [
                    await asyncio.to_thread(request, "POST", service.url + "/whip", SDP, "v=0")
                ]
                if chain[-1].status_code == 307:
                    location = chain[-1].headers["Location"]
                    chain.append(await asyncio.to_thread(request, "POST", location, SDP, "v=0"))
                chains.append([r.status_code for r in chain])
                assert chain[-1].status_code == 503 and chain[-1].headers["Retry-After"]
            await asyncio.sleep(2 * HEARTBEAT)
            refused = []
            for service in (one, two):
                response = await asyncio.to_thread(
                    request, "POST", service.url + "/whip", SDP, "v=0"
                )
                refused.append((response.status_code, response.headers.get("Retry-After")))
            created = [s.metric("pywebrtc_sessions_created_total") for s in (one, two)]
            for client in (first, second):
                await client.wait_echoes(10)
            figures: dict[str, Any] = {
                "redirected_session_connected_in_s": redirected_in,
                "statuses_right_after_filling": chains,
                "refusals_a_heartbeat_later": refused,
                "sessions_created": created,
            }
            print("capacity:", figures)
            assert all(code == 503 and after for code, after in refused), figures
            assert created == [1, 1], figures
        finally:
            await first.close()
            await second.close()

    try:
        fleet.run(body)
    finally:
        for service in (one, two):
            service.terminate()
            service.close()
