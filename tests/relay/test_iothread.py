"""relay.iothread: handlers and handed-over calls run in the forwarding thread, a failing
handler does not stop it, and stop() ends it."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from relay import batchio
from relay.iothread import IOThread

pytestmark = pytest.mark.skipif(not batchio.available(), reason="needs Linux")


def test_calls_run_in_the_thread_in_order() -> None:
    io = IOThread()
    seen: list[tuple[int, int]] = []
    done = threading.Event()
    io.start()
    try:
        for i in range(100):
            io.call(lambda i=i: seen.append((threading.get_ident(), i)))
        io.call(done.set)
        assert done.wait(5)
        assert [i for _, i in seen] == list(range(100))
        assert {ident for ident, _ in seen} == {io._thread.ident}
        assert io._thread.ident != threading.get_ident()
    finally:
        io.stop()


def test_a_failing_handler_is_logged_and_the_thread_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rx, tx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.setblocking(False)
    got: list[bytes] = []
    ok = threading.Event()

    def on_readable() -> None:
        data = rx.recv(64)
        if data == b"boom":
            raise RuntimeError("a bug")
        got.append(data)
        ok.set()

    io = IOThread()
    io.add_reader(rx.fileno(), on_readable)
    with caplog.at_level(logging.ERROR, logger="relay.iothread"):
        io.start()
        try:
            tx.send(b"boom")
            tx.send(b"fine")
            assert ok.wait(5)
        finally:
            io.stop()
            rx.close()
            tx.close()
    assert got == [b"fine"]
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_stop_ends_the_thread_and_is_idempotent() -> None:
    io = IOThread()
    io.start()
    assert io.alive
    io.stop()
    assert not io.alive
    io.stop()
