"""aioice clients (full ICE, controlling) → relay → pywebrtc ICE-lite agents on framed mux
sockets: 100 concurrent sessions across two transceiver sockets, connectivity and datagrams
both ways, and the agents see each client's real address."""

from __future__ import annotations

import asyncio

import aioice
import aioice.ice
import pytest

from pywebrtc.ice import Connection, IceState
from pywebrtc.ice.framed import open_framed_udp_mux
from pywebrtc.jsep.candidates import parse_candidate
from pywebrtc.settings import SettingEngine
from relay.routing import Route, RouteCodec
from relay.server import RelayConfig, RelayWorker
from tests.relay.netutil import free_port

CODEC = RouteCodec({0: bytes(range(16))}, active=0)
SESSIONS = 100


async def _session(index: int, mux: object, route: Route) -> tuple[Connection, aioice.Connection]:
    settings = SettingEngine()
    settings.set_lite(True)
    settings.set_udp_mux(mux)  # type: ignore[arg-type]
    settings.set_ufrag_generator(lambda: CODEC.encode(route))
    ours = Connection(ice_controlling=False, settings=settings.ice_config())
    theirs = aioice.Connection(ice_controlling=True, use_ipv6=False)
    await asyncio.gather(ours.gather_candidates(), theirs.gather_candidates())
    assert CODEC.decode(ours.local_username) == route
    ours.remote_username = theirs.local_username
    ours.remote_password = theirs.local_password
    theirs.remote_username = ours.local_username
    theirs.remote_password = ours.local_password
    theirs.remote_is_lite = True
    for c in theirs.local_candidates:
        await ours.add_remote_candidate(parse_candidate(c.to_sdp()))
    await ours.add_remote_candidate(None)
    for mine in ours.local_candidates:
        await theirs.add_remote_candidate(aioice.Candidate.from_sdp(mine.to_sdp()))
    await theirs.add_remote_candidate(None)
    await asyncio.wait_for(asyncio.gather(ours.connect(), theirs.connect()), 30)
    return ours, theirs


@pytest.mark.parametrize("mode", ["c", "thread", "asyncio"])
def test_aioice_clients_through_the_relay_to_lite_agents(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aioice gathers on non-loopback interfaces only; keep every packet on loopback.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])

    async def scenario() -> None:
        public = ("127.0.0.1", free_port())
        muxes = []
        for _ in range(2):
            mux, protocol, transport = await open_framed_udp_mux("127.0.0.1", 0, public)
            muxes.append((mux, protocol, transport))
        transceivers = {
            1 + i: transport.get_extra_info("sockname")[:2]
            for i, (_, _, transport) in enumerate(muxes)
        }
        worker = RelayWorker(RelayConfig(public, CODEC, transceivers, io=mode))
        await worker.start()
        pairs: list[tuple[Connection, aioice.Connection]] = []
        try:
            results = await asyncio.gather(
                *(_session(i, muxes[i % 2][0], Route(0, 1 + i % 2)) for i in range(SESSIONS)),
                return_exceptions=True,
            )
            pairs = [r for r in results if isinstance(r, tuple)]
            errors = [r for r in results if not isinstance(r, tuple)]
            assert not errors, errors[:3]
            for ours, theirs in pairs:
                assert ours.state in (IceState.CONNECTED, IceState.COMPLETED)
                # The only candidate is the relay; the agent sees the client's own address.
                assert [(c.host, c.port) for c in ours.local_candidates] == [public]
                pair = ours.selected_pair()
                assert pair is not None
                client = theirs.get_default_candidate(1)
                assert client is not None
                assert (pair[1].host, pair[1].port) == (client.host, client.port)
            for round_ in range(3):
                for i, (ours, theirs) in enumerate(pairs):
                    await theirs.send(b"\x17up" + bytes([i, round_]))
                    await ours.send(b"\x17down" + bytes([i, round_]))
                for i, (ours, theirs) in enumerate(pairs):
                    assert await asyncio.wait_for(ours.recv(), 5) == b"\x17up" + bytes([i, round_])
                    assert await asyncio.wait_for(theirs.recv(), 5) == b"\x17down" + bytes(
                        [i, round_]
                    )
            snapshot = worker.snapshot()
            assert snapshot["flows"] == SESSIONS
            assert not any(v for k, v in snapshot.items() if k.startswith("drops:"))
            # Both transceiver sockets carried half of the sessions.
            assert len(muxes[0][0]) == len(muxes[1][0]) == SESSIONS // 2
        finally:
            for ours, theirs in pairs:
                await ours.close()
                await theirs.close()
            await worker.stop()
            for _, _, transport in muxes:
                transport.close()

    asyncio.run(scenario())
