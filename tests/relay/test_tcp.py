"""The relay's ICE-TCP side (relay.tcp): a scripted STUN client on a real TCP connection to a
real ``RelayWorker`` with ``listen_tcp``; a UDP socket plays the transceiver. The first
RFC 4571 frame routes the connection by its ufrag; later frames follow it with the TCP-marked
frame header; the transceiver's replies come back on the connection, RFC 4571-framed."""

from __future__ import annotations

import asyncio
import socket

from pywebrtc.framing import (
    TCP_IPV4,
    Deframer,
    decode_address,
    encode_address,
    header_length,
    is_tcp,
)
from pywebrtc.framing import stream_frame as frame
from relay.metrics import render
from relay.routing import PlaintextRouteCodec, Route
from relay.server import RelayConfig, RelayWorker
from tests.relay.stunmsg import binding_request

CODEC = PlaintextRouteCodec()


def test_tcp_marked_header() -> None:
    header = encode_address(("10.0.0.1", 443), tcp=True)
    assert header[0] == TCP_IPV4 and is_tcp(header) and header_length(header) == 7
    assert decode_address(header) == ("10.0.0.1", 443)
    assert encode_address(("::1", 9), tcp=True)[0] == 0xD6
    assert not is_tcp(encode_address(("10.0.0.1", 443)))


async def _scenario() -> None:
    loop = asyncio.get_running_loop()
    transceiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    transceiver.bind(("127.0.0.1", 0))
    transceiver.setblocking(False)
    worker = RelayWorker(
        RelayConfig(
            listen=("127.0.0.1", 0),
            codec=CODEC,
            transceivers={7: transceiver.getsockname()},
            cluster=3,
            io="asyncio",
            listen_tcp=("127.0.0.1", 0),
        )
    )
    await worker.start()
    try:
        tcp = worker.tcp
        assert tcp is not None and tcp.address is not None
        ufrag = CODEC.encode(Route(3, 7))
        reader, writer = await asyncio.open_connection(*tcp.address)
        client = writer.get_extra_info("sockname")[:2]
        request = binding_request(f"{ufrag}:peer")
        # The request split across two writes, then a DTLS-looking frame.
        data = frame(request) + frame(b"\x16dtls")
        writer.write(data[:5])
        await writer.drain()
        writer.write(data[5:])
        got = [await asyncio.wait_for(loop.sock_recvfrom(transceiver, 2048), 5) for _ in "ab"]
        header = encode_address(client, tcp=True)
        assert [d for d, _ in got] == [header + request, header + b"\x16dtls"]
        relay_backend = got[0][1]
        # Replies: ours come back framed on the connection; a stranger's are dropped.
        await loop.sock_sendto(transceiver, header + b"reply-1", relay_backend)
        await loop.sock_sendto(transceiver, header + b"reply-2", relay_backend)
        deframer, replies = Deframer(), list[bytes]()
        while len(replies) < 2:
            replies += deframer.feed(await asyncio.wait_for(reader.read(4096), 5))
        assert replies == [b"reply-1", b"reply-2"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.sendto(header + b"forged", relay_backend)
        unknown = encode_address(("127.0.0.1", 1), tcp=True)
        await loop.sock_sendto(transceiver, unknown + b"lost", relay_backend)
        # An unroutable first frame (wrong cluster) closes its connection.
        bad_reader, bad_writer = await asyncio.open_connection(*tcp.address)
        bad_writer.write(frame(binding_request(f"{CODEC.encode(Route(4, 7))}:x")))
        assert await asyncio.wait_for(bad_reader.read(), 5) == b""
        bad_writer.close()
        # A first frame that is not STUN closes it too; an oversized frame is skipped.
        other_reader, other_writer = await asyncio.open_connection(*tcp.address)
        other_writer.write(frame(b"\x16not-stun"))
        assert await asyncio.wait_for(other_reader.read(), 5) == b""
        other_writer.close()
        writer.write(frame(bytes(9000)) + frame(b"\x17after"))
        data_after, _ = await asyncio.wait_for(loop.sock_recvfrom(transceiver, 2048), 5)
        assert data_after == header + b"\x17after"
        counters = worker.snapshot()
        assert counters["tcp_connections_accepted_total"] == 3
        assert counters["tcp_drops:unknown_transceiver"] == 1
        assert counters["tcp_drops:not_stun"] == 1
        assert counters["tcp_closed_unroutable_total"] == 2
        assert counters["tcp_drops:oversized"] == 1
        assert counters["tcp_frames_to_client_total"] == 2
        assert counters["tcp_drops:not_the_backend"] == 1
        assert counters["tcp_drops:no_connection"] == 1
        assert counters["tcp_frames_to_backend_total"] == 3
        text = render(counters)
        assert "pywebrtc_relay_tcp_frames_to_backend_total 3" in text
        assert 'pywebrtc_relay_tcp_drops_total{reason="oversized"} 1' in text
        writer.close()
        await writer.wait_closed()
    finally:
        await worker.stop()
        transceiver.close()


def test_tcp_connection_routed_by_ufrag() -> None:
    asyncio.run(asyncio.wait_for(_scenario(), 20))
