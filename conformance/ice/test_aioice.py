"""Interop with aioice (test-only peer) on this machine's addresses, in both roles."""

from __future__ import annotations

import asyncio

import aioice
import pytest

from pywebrtc.ice import Connection, IceState
from pywebrtc.jsep.candidates import parse_candidate


async def _connect(ours: Connection, theirs: aioice.Connection) -> None:
    await asyncio.gather(ours.gather_candidates(), theirs.gather_candidates())
    ours.remote_username = theirs.local_username
    ours.remote_password = theirs.local_password
    theirs.remote_username = ours.local_username
    theirs.remote_password = ours.local_password
    for c in theirs.local_candidates:
        await ours.add_remote_candidate(parse_candidate(c.to_sdp()))
    await ours.add_remote_candidate(None)
    for mine in ours.local_candidates:
        await theirs.add_remote_candidate(aioice.Candidate.from_sdp(mine.to_sdp()))
    await theirs.add_remote_candidate(None)
    await asyncio.wait_for(asyncio.gather(ours.connect(), theirs.connect()), 10)


async def _exchange(ours: Connection, theirs: aioice.Connection) -> None:
    for i in range(5):
        await ours.send(b"\x17ours" + bytes([i]))
        assert await asyncio.wait_for(theirs.recv(), 2) == b"\x17ours" + bytes([i])
        await theirs.send(b"\x17theirs" + bytes([i]))
        assert await asyncio.wait_for(ours.recv(), 2) == b"\x17theirs" + bytes([i])


@pytest.mark.parametrize("we_control", [True, False])
def test_connect_and_exchange_with_aioice(we_control: bool) -> None:
    async def main() -> None:
        ours = Connection(ice_controlling=we_control)
        theirs = aioice.Connection(ice_controlling=not we_control)
        try:
            await _connect(ours, theirs)
            assert ours.state in (IceState.CONNECTED, IceState.COMPLETED)
            assert ours.selected_pair() is not None
            await _exchange(ours, theirs)
            assert ours.agent.counters.dropped == 0
        finally:
            await ours.close()
            await theirs.close()

    asyncio.run(main())


def test_role_conflict_with_aioice_both_controlling() -> None:
    async def main() -> None:
        ours = Connection(ice_controlling=True)
        theirs = aioice.Connection(ice_controlling=True)
        try:
            await _connect(ours, theirs)
            await _exchange(ours, theirs)
            assert ours.agent.controlling != theirs.ice_controlling
        finally:
            await ours.close()
            await theirs.close()

    asyncio.run(main())


def test_lite_server_with_aioice_client() -> None:
    async def main() -> None:
        ours = Connection(ice_controlling=False, ice_lite=True)
        theirs = aioice.Connection(ice_controlling=True)
        try:
            await _connect(ours, theirs)
            await _exchange(ours, theirs)
            assert ours.agent.counters.checks_sent == 0
        finally:
            await ours.close()
            await theirs.close()

    asyncio.run(main())


@pytest.mark.parametrize("we_control", [True, False])
def test_trickle_with_aioice_candidates_after_connect_started(we_control: bool) -> None:
    async def main() -> None:
        ours = Connection(ice_controlling=we_control)
        theirs = aioice.Connection(ice_controlling=not we_control)
        try:
            await asyncio.gather(ours.gather_candidates(), theirs.gather_candidates())
            ours.remote_username = theirs.local_username
            ours.remote_password = theirs.local_password
            theirs.remote_username = ours.local_username
            theirs.remote_password = ours.local_password
            connecting = asyncio.gather(ours.connect(), theirs.connect())
            for c in theirs.local_candidates:
                await ours.add_remote_candidate(parse_candidate(c.to_sdp()))
            for mine in ours.local_candidates:
                await theirs.add_remote_candidate(aioice.Candidate.from_sdp(mine.to_sdp()))
            await ours.add_remote_candidate(None)
            await theirs.add_remote_candidate(None)
            await asyncio.wait_for(connecting, 10)
            await _exchange(ours, theirs)
        finally:
            await ours.close()
            await theirs.close()

    asyncio.run(main())


def test_aioice_clients_on_one_mux_socket() -> None:
    """The transceiver's shape: lite sessions sharing one socket, independent full clients."""

    async def main() -> None:
        from pywebrtc import SettingEngine
        from pywebrtc.ice import open_udp_mux
        from pywebrtc.ice.gather import host_addresses

        address = host_addresses(use_ipv6=False)[0]
        mux, transport = await open_udp_mux(address, 0)
        pairs = []
        for _ in range(5):
            settings = SettingEngine()
            settings.set_udp_mux(mux)
            settings.set_lite(True)
            pairs.append(
                (
                    Connection(ice_controlling=False, settings=settings.ice_config()),
                    aioice.Connection(ice_controlling=True, use_ipv6=False),
                )
            )
        try:
            await asyncio.gather(*(_connect(ours, theirs) for ours, theirs in pairs))
            assert len(mux) == 5
            for ours, theirs in pairs:
                await _exchange(ours, theirs)
        finally:
            for ours, theirs in pairs:
                await ours.close()
                await theirs.close()
            transport.close()
        assert len(mux) == 0

    asyncio.run(main())
