"""relay.iothread: a thread per socket blocked in its receive, work under one lock, a failing
loop does not end its thread, and stop() wakes every receive and ends the threads."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from relay import batchio
from relay.iothread import SocketThreads

# A platform skip only: on 64-bit Linux a libc without recvmmsg/sendmmsg fails these tests.
pytestmark = pytest.mark.skipif(not batchio.available(), reason="recvmmsg is 64-bit Linux only")


def _udp(connect: socket.socket | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    if connect is not None:
        sock.connect(connect.getsockname())
    return sock


def _echo_loop(threads: SocketThreads, sock: socket.socket, seen: list[bytes]) -> None:
    buffer = bytearray(64)
    while True:
        length, address = sock.recvfrom_into(buffer)
        if address is None:  # shut down
            return
        with threads.lock:
            seen.append(bytes(buffer[:length]))
            sock.sendto(buffer[:length], batchio.MSG_DONTWAIT, address)


def test_each_socket_is_served_by_its_own_thread_and_stop_wakes_them() -> None:
    threads = SocketThreads("test-io")
    a, b = _udp(), _udp()
    seen: list[bytes] = []
    idents: set[int] = set()

    def serve(sock: socket.socket) -> None:
        idents.add(threading.get_ident())
        _echo_loop(threads, sock, seen)

    threads.add(a, lambda: serve(a))
    threads.add(b, lambda: serve(b))
    client = _udp()
    client.settimeout(5)
    try:
        for sock in (a, b):
            client.sendto(b"ping", sock.getsockname())
            assert client.recv(64) == b"ping"
        assert len(idents) == 2 and threading.get_ident() not in idents
        assert threads.alive
        threads.stop(timeout=5)  # both threads are blocked in recvfrom_into
        assert not threads.alive
        threads.stop()  # idempotent
        threads.add(a, lambda: serve(a))  # nothing starts once stopped
        assert not threads.alive
    finally:
        for sock in (a, b, client):
            sock.close()
    assert seen == [b"ping", b"ping"]


def test_calls_hold_the_lock_in_the_calling_thread_and_stop_once_stopped() -> None:
    threads = SocketThreads()
    ran: list[tuple[int, bool]] = []
    threads.call(lambda: ran.append((threading.get_ident(), threads.lock.locked())))
    assert ran == [(threading.get_ident(), True)]
    threads.stop()
    threads.call(lambda: ran.append((0, False)))
    assert len(ran) == 1


def test_a_failing_loop_is_logged_and_served_again(caplog: pytest.LogCaptureFixture) -> None:
    threads = SocketThreads()
    rx = _udp()
    tx = _udp(connect=rx)
    got: list[bytes] = []
    ok = threading.Event()
    buffer = bytearray(64)

    def serve() -> None:
        while True:
            length = rx.recv_into(buffer)
            if not length and threads.stopped:
                return
            if buffer[:length] == b"boom":
                raise RuntimeError("a bug")
            got.append(bytes(buffer[:length]))
            ok.set()

    with caplog.at_level(logging.ERROR, logger="relay.iothread"):
        threads.add(rx, serve)
        try:
            tx.send(b"boom")
            tx.send(b"fine")
            assert ok.wait(5)
        finally:
            threads.stop(timeout=5)
            rx.close()
            tx.close()
    assert not threads.alive
    assert got == [b"fine"]
    assert any("forwarding thread failed" in r.getMessage() for r in caplog.records)
