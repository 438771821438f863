"""relay.batchio helpers: sockaddr <-> key <-> frame header, and a real recvmmsg/sendmmsg
round trip on loopback."""

from __future__ import annotations

import ctypes
import socket

import pytest

from pywebrtc.framing import encode_address
from relay import batchio

# A platform skip only: on 64-bit Linux a libc without recvmmsg/sendmmsg fails these tests.
pytestmark = pytest.mark.skipif(not batchio.available(), reason="recvmmsg is 64-bit Linux only")


@pytest.mark.parametrize(
    ("address", "family"),
    [
        (("192.0.2.1", 3478), socket.AF_INET),
        (("2001:db8::1", 443), socket.AF_INET6),
        (("192.0.2.1", 3478), socket.AF_INET6),  # IPv4-mapped on a dual-stack socket
    ],
)
def test_key_and_frame_header_match_pywebrtc_framing(address: tuple[str, int], family: int) -> None:
    raw = batchio.sockaddr(address, family)
    key = batchio.key_of(raw)
    assert batchio.sockaddr_of(key)[: len(raw)] == raw
    assert batchio.frame_header(key) == encode_address(address)
    host = socket.inet_pton(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, address[0])
    assert batchio.sockaddr_host(key) == host
    assert isinstance(key, int) == (family == socket.AF_INET)


def test_batch_receives_and_sends_in_place() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink,
    ):
        rx.bind(("127.0.0.1", 0))
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(2)
        tx.bind(("127.0.0.1", 0))
        batch = batchio.Batch(8, 16)
        assert batch.recv(rx.fileno()) == 0  # nothing waiting: no error, no block
        for i in range(5):
            tx.sendto(bytes([i]) * (i + 1), rx.getsockname())
        n = batch.recv(rx.fileno())
        assert n == 5
        assert batch.key(0) == batchio.key_of(batchio.sockaddr(tx.getsockname(), socket.AF_INET))
        dest = batchio.sockaddr(sink.getsockname(), socket.AF_INET)
        pinned = ctypes.create_string_buffer(dest, len(dest))
        for i in range(n):
            assert batch.length(i) == i + 1
            off = batch.offsets[i]
            assert bytes(batch.view[off : off + i + 1]) == bytes([i]) * (i + 1)
            batch.send64[i * 8] = ctypes.addressof(pinned)
            batch.siov64[i * 2] = batch.bases[i]
            batch.siov64[i * 2 + 1] = i + 1
        assert batch.send(rx.fileno(), n) == n
        assert [sink.recv(64) for _ in range(n)] == [bytes([i]) * (i + 1) for i in range(n)]


def test_key_of_address_matches_the_key_a_batch_reads() -> None:
    # A dual-stack socket: IPv4 senders arrive IPv4-mapped, IPv6 ones as themselves.
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as rx:
        rx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        rx.bind(("::", 0))
        rx.settimeout(2)
        port = rx.getsockname()[1]
        batch = batchio.Batch(4, batchio.SOCKADDR_SIZE)
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family, socket.SOCK_DGRAM) as tx:
                tx.sendto(b"socket module", (host, port))
                _, address = rx.recvfrom(64)
                tx.sendto(b"batch", (host, port))
                assert batch.recv(rx.fileno()) == 1
                assert batchio.key_of_address(address, socket.AF_INET6) == batch.key(0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2)
        batch = batchio.Batch(4, 16)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(b"socket module", rx.getsockname())
            _, address = rx.recvfrom(64)
            tx.sendto(b"batch", rx.getsockname())
            assert batch.recv(rx.fileno()) == 1
            assert batchio.key_of_address(address, socket.AF_INET) == batch.key(0)
