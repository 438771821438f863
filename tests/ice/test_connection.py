"""The asyncio Connection over real loopback sockets (no sleeps: everything awaits events)."""

from __future__ import annotations

import asyncio

import pytest

from pywebrtc import SettingEngine
from pywebrtc.ice import Candidate, Connection, IceState, open_udp_mux
from pywebrtc.ice.mdns import build_query, parse_answer
from pywebrtc.jsep.candidates import parse_candidate
from pywebrtc.stun import Message, binding_success


async def _pair(a: Connection, b: Connection) -> None:
    await asyncio.gather(a.gather_candidates(), b.gather_candidates())
    a.remote_username, a.remote_password = b.local_username, b.local_password
    b.remote_username, b.remote_password = a.local_username, a.local_password
    for c in b.local_candidates:
        await a.add_remote_candidate(parse_candidate(c.to_sdp()))
    for c in a.local_candidates:
        await b.add_remote_candidate(c)
    await a.add_remote_candidate(None)
    await b.add_remote_candidate(None)
    await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5)


def _loopback_settings() -> SettingEngine:
    s = SettingEngine()
    s.set_include_loopback(True)
    return s


def test_two_connections_exchange_datagrams() -> None:
    asyncio.run(_test_two_connections_exchange_datagrams())


async def _test_two_connections_exchange_datagrams() -> None:
    a = Connection(ice_controlling=True, use_ipv6=False, settings=_loopback_settings().ice_config())
    b = Connection(
        ice_controlling=False, use_ipv6=False, settings=_loopback_settings().ice_config()
    )
    await _pair(a, b)
    assert a.state in (IceState.CONNECTED, IceState.COMPLETED)
    await a.send(b"\x17hello")
    assert await asyncio.wait_for(b.recv(), 2) == b"\x17hello"
    await b.send(b"\x80world")
    assert await asyncio.wait_for(a.recv(), 2) == b"\x80world"
    # The synchronous hook for DTLS/SRTP gets other-protocol datagrams instead of recv().
    got: list[tuple[bytes, int]] = []
    done = asyncio.get_running_loop().create_future()

    def hook(data: bytes, component: int) -> None:
        got.append((data, component))
        done.set_result(None)

    b.on_datagram = hook
    a.send_datagram(b"\x16dtls")
    await asyncio.wait_for(done, 2)
    assert got == [(b"\x16dtls", 1)]
    assert a.stats.packets_sent == 2 and a.stats.bytes_sent == len(b"\x17hello\x16dtls")
    assert b.stats.packets_received == 2 and a.stats.packets_received == 1
    await a.close()
    await b.close()
    with pytest.raises(ConnectionError):
        await a.recv()
    with pytest.raises(ConnectionError):
        await a.send(b"x")


def test_candidates_and_credentials_are_aioice_shaped() -> None:
    asyncio.run(_test_candidates_and_credentials_are_aioice_shaped())


async def _test_candidates_and_credentials_are_aioice_shaped() -> None:
    s = SettingEngine()
    s.set_ice_credentials("routeABCD", "p" * 22)
    c = Connection(
        ice_controlling=True, settings=s.ice_config(), include_loopback=True, use_ipv6=False
    )
    assert c.local_username == "routeABCD" and c.local_password == "p" * 22
    await c.gather_candidates()
    assert c.local_candidates
    for cand in c.local_candidates:
        text = cand.to_sdp()
        assert not text.startswith("candidate:") and " typ host" in text
    default = c.get_default_candidate()
    assert default is not None and default.priority == max(x.priority for x in c.local_candidates)
    assert c.get_default_candidate(2) is None
    with pytest.raises(ConnectionError):
        await c.connect()  # no remote credentials
    await c.close()


def test_connections_share_one_mux_socket() -> None:
    asyncio.run(_test_connections_share_one_mux_socket())


async def _test_connections_share_one_mux_socket() -> None:
    mux, transport = await open_udp_mux("127.0.0.1", 0)
    servers = []
    clients = []
    for _ in range(5):
        s = SettingEngine()
        s.set_udp_mux(mux)
        s.set_lite(True)
        servers.append(Connection(ice_controlling=False, settings=s.ice_config()))
        clients.append(
            Connection(
                ice_controlling=True, use_ipv6=False, settings=_loopback_settings().ice_config()
            )
        )
    for client, server in zip(clients, servers, strict=True):
        client.remote_is_lite = True
        await _pair(client, server)
    assert len(mux) == 5
    for i, (client, server) in enumerate(zip(clients, servers, strict=True)):
        await client.send(bytes([0x17, i]))
        assert await asyncio.wait_for(server.recv(), 2) == bytes([0x17, i])
        await server.send(bytes([0x17, 100 + i]))
        assert await asyncio.wait_for(client.recv(), 2) == bytes([0x17, 100 + i])
    for conn in servers + clients:
        await conn.close()
    assert len(mux) == 0 and mux.address_count == 0
    transport.close()


def test_mdns_answer_parsing() -> None:
    name = "3f2a1b3c-1111-2222-3333-444455556666.local"
    query = build_query(name, 7)
    # A response: same question section, then one A record pointing at the question's name.
    answer = (
        b"\x00\x07\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00"
        + query[12 : 12 + len(name) + 2 + 4]
        + b"\xc0\x0c\x00\x01\x80\x01\x00\x00\x00\x78\x00\x04\xc0\xa8\x01\x05"
    )
    answer = answer[:5] + b"\x01" + answer[6:]
    assert parse_answer(answer, name) == "192.168.1.5"
    assert parse_answer(answer[:20], name) is None
    assert parse_answer(query, name) is None


def _settings(**timeouts: float) -> SettingEngine:
    s = _loopback_settings()
    if timeouts:
        s.set_ice_timeouts(**timeouts)
    return s


def test_trickled_candidates_after_connect_started() -> None:
    asyncio.run(_test_trickled_candidates_after_connect_started())


async def _test_trickled_candidates_after_connect_started() -> None:
    a = Connection(ice_controlling=True, use_ipv6=False, settings=_settings().ice_config())
    b = Connection(ice_controlling=False, use_ipv6=False, settings=_settings().ice_config())
    await asyncio.gather(a.gather_candidates(), b.gather_candidates())
    a.remote_username, a.remote_password = b.local_username, b.local_password
    b.remote_username, b.remote_password = a.local_username, a.local_password
    connecting = asyncio.gather(a.connect(), b.connect())
    await asyncio.sleep(0)  # let connect() start with no remote candidates at all
    assert a.state is IceState.CHECKING
    for c in b.local_candidates:
        await a.add_remote_candidate(parse_candidate(c.to_sdp()))
    await a.add_remote_candidate(None)
    await asyncio.wait_for(connecting, 5)
    await b.add_remote_candidate(None)
    await a.send(b"\x17late")
    assert await asyncio.wait_for(b.recv(), 2) == b"\x17late"
    await a.close()
    await b.close()


def test_ice_restart_selects_a_new_pair() -> None:
    asyncio.run(_test_ice_restart_selects_a_new_pair())


async def _test_ice_restart_selects_a_new_pair() -> None:
    a = Connection(ice_controlling=True, use_ipv6=False, settings=_settings().ice_config())
    b = Connection(ice_controlling=False, use_ipv6=False, settings=_settings().ice_config())
    await _pair(a, b)
    old_ufrag = a.local_username
    old_pair = a.agent.selected_pair()
    await a.restart()
    await b.restart()
    assert a.local_username != old_ufrag
    # Data still flows on the old pair during the restart.
    await a.send(b"\x17during")
    assert await asyncio.wait_for(b.recv(), 2) == b"\x17during"
    a.remote_username, a.remote_password = b.local_username, b.local_password
    b.remote_username, b.remote_password = a.local_username, a.local_password
    for c in b.local_candidates:
        await a.add_remote_candidate(c)
    for c in a.local_candidates:
        await b.add_remote_candidate(c)
    await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 5)
    assert a.agent.selected_pair() is not old_pair
    await b.send(b"\x17after")
    assert await asyncio.wait_for(a.recv(), 2) == b"\x17after"
    await a.close()
    await b.close()


def test_mux_session_released_when_consent_fails() -> None:
    asyncio.run(_test_mux_session_released_when_consent_fails())


async def _test_mux_session_released_when_consent_fails() -> None:
    mux, transport = await open_udp_mux("127.0.0.1", 0)
    s = _settings(disconnected=0.5, consent_timeout=1.5, consent_interval=0.1)
    s.set_udp_mux(mux)
    s.set_lite(True)
    server = Connection(ice_controlling=False, settings=s.ice_config())
    # The client's consent checks are what keep the lite server's session alive.
    client = Connection(
        ice_controlling=True, use_ipv6=False, settings=_settings(consent_interval=0.05).ice_config()
    )
    client.remote_is_lite = True
    await _pair(client, server)
    assert len(mux) == 1 and mux.address_count == 1
    failed = asyncio.get_running_loop().create_future()
    server.on_state_change = lambda st: (
        failed.set_result(st) if st is IceState.FAILED and not failed.done() else None
    )
    await client.close()  # the client vanishes without a word
    assert await asyncio.wait_for(failed, 5) is IceState.FAILED
    assert len(mux) == 0 and mux.address_count == 0
    with pytest.raises(ConnectionError):
        await server.send(b"\x17x")
    with pytest.raises(ConnectionError):
        await server.recv()
    await server.close()
    transport.close()


def test_one_mux_per_address_family() -> None:
    asyncio.run(_test_one_mux_per_address_family())


async def _test_one_mux_per_address_family() -> None:
    mux4, t4 = await open_udp_mux("127.0.0.1", 0)
    mux6, t6 = await open_udp_mux("::1", 0)
    s = SettingEngine()
    s.set_udp_mux([mux4, mux6])
    server = Connection(ice_controlling=False, settings=s.ice_config())
    client = Connection(ice_controlling=True, settings=_settings().ice_config())
    await _pair(client, server)
    hosts = {c.host for c in server.local_candidates}
    assert hosts == {"127.0.0.1", "::1"}
    assert len(mux4) == 1 and len(mux6) == 1
    pair = server.agent.selected_pair()
    assert pair is not None and ":" in pair.remote.host  # RFC 8421: IPv6 first
    await client.send(b"\x17v6")
    assert await asyncio.wait_for(server.recv(), 2) == b"\x17v6"
    await server.send(b"\x17back")
    assert await asyncio.wait_for(client.recv(), 2) == b"\x17back"
    await client.close()
    await server.close()
    assert len(mux4) == 0 and len(mux6) == 0
    t4.close()
    t6.close()


def test_nat_1to1_address_is_advertised_with_the_real_base() -> None:
    asyncio.run(_test_nat_1to1_address_is_advertised_with_the_real_base())


async def _test_nat_1to1_address_is_advertised_with_the_real_base() -> None:
    mux, transport = await open_udp_mux("127.0.0.1", 0)
    s = SettingEngine()
    s.set_udp_mux(mux)
    s.set_nat_1to1_ips(["203.0.113.9"])
    host_only = Connection(ice_controlling=False, settings=s.ice_config())
    await host_only.gather_candidates()
    [cand] = host_only.local_candidates
    assert (cand.host, cand.port, cand.type) == ("203.0.113.9", mux.local_address[1], "host")
    assert cand.base == mux.local_address
    await host_only.close()
    s2 = SettingEngine()
    s2.set_udp_mux(mux)
    s2.set_nat_1to1_ips(["203.0.113.9"], candidate_type="srflx")
    both = Connection(ice_controlling=False, settings=s2.ice_config())
    await both.gather_candidates()
    kinds = sorted((c.type.value, c.host) for c in both.local_candidates)
    assert kinds == [("host", "127.0.0.1"), ("srflx", "203.0.113.9")]
    await both.close()
    transport.close()


def test_sockets_bind_in_the_configured_port_range() -> None:
    asyncio.run(_test_sockets_bind_in_the_configured_port_range())


async def _test_sockets_bind_in_the_configured_port_range() -> None:
    s = _settings()
    s.set_ephemeral_udp_port_range(47000, 47999)
    c = Connection(ice_controlling=True, use_ipv6=False, settings=s.ice_config())
    await c.gather_candidates()
    assert c.local_candidates
    assert all(47000 <= cand.port <= 47999 for cand in c.local_candidates)
    await c.close()


def test_remote_candidate_with_a_host_name_is_resolved() -> None:
    asyncio.run(_test_remote_candidate_with_a_host_name_is_resolved())


async def _test_remote_candidate_with_a_host_name_is_resolved() -> None:
    c = Connection(ice_controlling=True, use_ipv6=False, settings=_settings().ice_config())
    await c.gather_candidates()
    await c.add_remote_candidate(parse_candidate("1 1 udp 2130706431 localhost 9999 typ host"))
    assert [r.address for r in c.remote_candidates] in ([("127.0.0.1", 9999)], [("::1", 9999)])
    unknown = parse_candidate("2 1 udp 2130706431 no-such-host.invalid 9999 typ host")
    await c.add_remote_candidate(unknown)
    assert len(c.remote_candidates) == 1
    await c.close()


class _StunServer(asyncio.DatagramProtocol):
    """Answers Binding requests with a fixed mapped address, as a server behind a NAT would."""

    def __init__(self, mapped: tuple[str, int]) -> None:
        self.mapped = mapped
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        msg = Message.parse(data)
        assert self.transport is not None
        self.transport.sendto(binding_success(msg.transaction_id, self.mapped, None), addr)


def test_server_reflexive_candidate_from_a_stun_server() -> None:
    asyncio.run(_test_server_reflexive_candidate_from_a_stun_server())


async def _test_server_reflexive_candidate_from_a_stun_server() -> None:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(
        lambda: _StunServer(("203.0.113.50", 7777)), local_addr=("127.0.0.1", 0)
    )
    address = transport.get_extra_info("sockname")
    c = Connection(
        ice_controlling=True,
        use_ipv6=False,
        settings=_settings().ice_config(),
        stun_server=(address[0], address[1]),
    )
    trickled: list[Candidate | None] = []
    c.on_local_candidate = trickled.append
    await asyncio.wait_for(c.gather_candidates(), 5)
    assert trickled[-1] is None and trickled[:-1] == c.local_candidates
    srflx = [x for x in c.local_candidates if x.type == "srflx"]
    assert srflx and srflx[0].address == ("203.0.113.50", 7777)
    assert srflx[0].related_address is not None
    await c.close()
    transport.close()


def test_fifty_sessions_connect_concurrently_through_one_mux_socket() -> None:
    asyncio.run(_test_fifty_sessions_connect_concurrently_through_one_mux_socket())


async def _test_fifty_sessions_connect_concurrently_through_one_mux_socket() -> None:
    mux, transport = await open_udp_mux("127.0.0.1", 0)
    pairs = []
    for _ in range(50):
        s = SettingEngine()
        s.set_udp_mux(mux)
        s.set_lite(True)
        server = Connection(ice_controlling=False, settings=s.ice_config())
        client = Connection(ice_controlling=True, use_ipv6=False, settings=_settings().ice_config())
        client.remote_is_lite = True
        pairs.append((client, server))
    await asyncio.wait_for(asyncio.gather(*(_pair(c, s) for c, s in pairs)), 20)
    assert len(mux) == 50 and mux.counters.dropped == 0
    for i, (client, _server) in enumerate(pairs):
        await client.send(b"\x17" + i.to_bytes(2, "big"))
    for i, (_client, server) in enumerate(pairs):
        assert await asyncio.wait_for(server.recv(), 2) == b"\x17" + i.to_bytes(2, "big")
    for client, server in pairs:
        await client.close()
        await server.close()
    assert len(mux) == 0 and mux.address_count == 0
    transport.close()
