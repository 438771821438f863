"""Relayed candidates end to end: our Connection through a real coturn on loopback."""

from __future__ import annotations

import asyncio

from conformance.turn.coturn import running_coturn
from pywebrtc import SettingEngine
from pywebrtc.ice import CandidateType, Connection, IceState
from pywebrtc.jsep.candidates import parse_candidate


def test_connection_over_a_turn_relay_exchanges_data_both_ways() -> None:
    with running_coturn() as server:

        async def main() -> None:
            ours = Connection(
                ice_controlling=True,
                use_ipv6=False,
                include_loopback=True,
                stun_server=server.address,
                turn_server=server.address,
                turn_username=server.username,
                turn_password=server.password,
                transport_policy="relay",
            )
            settings = SettingEngine()
            settings.set_include_loopback(True)
            peer = Connection(ice_controlling=False, use_ipv6=False, settings=settings.ice_config())
            try:
                await asyncio.gather(ours.gather_candidates(), peer.gather_candidates())
                relayed = [c for c in ours.local_candidates if c.type is CandidateType.RELAYED]
                assert relayed and len(relayed) == len(ours.local_candidates)
                assert relayed[0].related_address is not None
                ours.remote_username = peer.local_username
                ours.remote_password = peer.local_password
                peer.remote_username = ours.local_username
                peer.remote_password = ours.local_password
                for c in peer.local_candidates:
                    if c.host == "127.0.0.1":
                        await ours.add_remote_candidate(parse_candidate(c.to_sdp()))
                for c in ours.local_candidates:
                    await peer.add_remote_candidate(parse_candidate(c.to_sdp()))
                await ours.add_remote_candidate(None)
                await peer.add_remote_candidate(None)
                await asyncio.wait_for(asyncio.gather(ours.connect(), peer.connect()), 10)
                assert ours.state in (IceState.CONNECTED, IceState.COMPLETED)
                selected = ours.selected_pair()
                assert selected is not None and selected[0].type is CandidateType.RELAYED
                for i in range(5):
                    await ours.send(b"\x17up" + bytes([i]))
                    assert await asyncio.wait_for(peer.recv(), 2) == b"\x17up" + bytes([i])
                    await peer.send(b"\x17down" + bytes([i]))
                    assert await asyncio.wait_for(ours.recv(), 2) == b"\x17down" + bytes([i])
            finally:
                await ours.close()
                await peer.close()

        asyncio.run(main())
