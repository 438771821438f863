"""pywebrtc.ice.framed: frames in, the client address to the mux; replies framed, back to the
relay the client came through; junk and strangers dropped and counted."""

from __future__ import annotations

import asyncio
from typing import cast

from pywebrtc.framing import encode_address
from pywebrtc.ice.framed import FramedMuxProtocol


class _Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def test_replies_go_back_framed_through_the_last_relay() -> None:
    protocol = FramedMuxProtocol(("203.0.113.1", 3478), relays={"10.0.0.1", "10.0.0.2"})
    transport = _Transport()
    protocol.connection_made(cast(asyncio.BaseTransport, transport))
    seen: list[tuple[bytes, tuple[str, int]]] = []
    session = protocol.mux.register("ufrag", lambda d, r: seen.append((d, r)), lambda r: True)
    client = ("198.51.100.7", 5000)
    protocol.mux._by_address[client] = session  # as if the client had authenticated
    protocol.datagram_received(encode_address(client) + b"\x17dtls", ("10.0.0.1", 40000))
    assert seen == [(b"\x17dtls", client)]
    protocol.mux.send(b"\x17reply", client)
    assert transport.sent == [(encode_address(client) + b"\x17reply", ("10.0.0.1", 40000))]
    # The client moved to another relay (worker): replies follow it.
    protocol.datagram_received(encode_address(client) + b"\x17more", ("10.0.0.2", 40001))
    protocol.mux.send(b"x", client)
    assert transport.sent[-1][1] == ("10.0.0.2", 40001)
    assert protocol.mux.local_address == ("203.0.113.1", 3478)


def test_junk_and_strangers_are_dropped_and_counted() -> None:
    protocol = FramedMuxProtocol(("203.0.113.1", 3478), relays={"10.0.0.1"})
    transport = _Transport()
    protocol.connection_made(cast(asyncio.BaseTransport, transport))
    protocol.datagram_received(b"\x00\x01junk", ("10.0.0.1", 1))
    protocol.datagram_received(encode_address(("1.2.3.4", 5)) + b"x", ("192.0.2.66", 1))
    protocol.mux.send(b"x", ("9.9.9.9", 9))
    assert protocol.counters.dropped_bad_frame == 1
    assert protocol.counters.dropped_not_a_relay == 1
    assert protocol.counters.dropped_no_route == 1
    assert transport.sent == []
