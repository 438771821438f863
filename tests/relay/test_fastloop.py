"""relay._fastloop, the C forwarding loops: the flow table against a dict model, the loops on
loopback sockets (known flows forwarded in C, everything else handed up in order), a Group
running two loops in one thread, and a flow that only the C loop carried surviving expiry.
The relay's behaviour with the C loops is tested
with the same cases as the pure-Python ones (``mode``/``io`` "c" vs "thread" in
test_server.py, test_floods.py, test_chaining.py, test_ice_e2e.py, test_cli.py,
test_recovery.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.framing import encode_address
from relay import _fastloop, batchio, fastpath
from relay.routing import Route
from relay.server import RelayWorker
from tests.relay.netutil import client, start_transceiver
from tests.relay.test_server import relay_config, ufrag_request


def test_the_extension_is_built() -> None:
    # setup.py builds it at install (optional, so that a machine without a compiler still
    # installs); here it must be there, or every "c" case below would test nothing.
    assert fastpath.available(), "relay._fastloop not built: pip install -e . with gcc"


def test_without_the_extension_auto_runs_the_python_loops_and_c_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fastpath, "_native", None)  # as after a failed build
    worker = RelayWorker(relay_config({1: ("127.0.0.1", 9)}))
    assert worker.mode == "thread"
    worker.public.close()
    worker.private.close()
    with pytest.raises(fastpath.FastPathMissing, match="not built"):
        RelayWorker(relay_config({1: ("127.0.0.1", 9)}, io="c"))


def _v4(port: int, host: str = "127.0.0.1") -> bytes:
    return batchio.sockaddr((host, port), socket.AF_INET)


def _header(port: int, host: str = "127.0.0.1") -> bytes:
    return encode_address((host, port))


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 40), st.integers(1, 3)),
        max_size=300,
    )
)
def test_the_table_matches_a_dict_model(ops: list[tuple[bool, int, int]]) -> None:
    # (set?, client port, flow tag): enough entries to grow the table and delete from the
    # middle of probe runs; a forget names the flow, so a stale one leaves a newer entry be.
    table = _fastloop.Table()
    model: dict[int, int] = {}  # port -> tag
    for is_set, port, tag in ops:
        if is_set:
            table.set(tag, _v4(port + 1000), _header(port + 1000), 3)
            model[port] = tag
        else:
            expected = model.get(port) == tag
            assert table.forget(tag, _header(port + 1000)) == expected
            if expected:
                del model[port]
        assert len(table) == len(model)
    for port in range(41):
        for tag in (1, 2, 3):
            seen = table.last_seen(tag, _header(port + 1000))
            assert (seen > 0) == (model.get(port) == tag)


def test_the_table_replaces_by_client_and_by_header_and_takes_ipv6() -> None:
    table = _fastloop.Table()
    table.set(1, _v4(5000), _header(5000), 7)
    table.set(2, _v4(5000), _header(5000), 8)  # the same client again (a migration)
    assert len(table) == 1
    assert table.last_seen(1, _header(5000)) == float("-inf")
    assert table.last_seen(2, _header(5000)) <= time.monotonic()
    v6 = batchio.sockaddr(("2001:db8::1", 5000), socket.AF_INET6)
    table.set(3, v6, encode_address(("2001:db8::1", 5000)), 7)
    assert len(table) == 2
    assert not table.forget(2, encode_address(("2001:db8::1", 5000)))
    assert table.forget(3, encode_address(("2001:db8::1", 5000)))
    assert len(table) == 1


def _udp(connect: socket.socket | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    if connect is not None:
        sock.connect(connect.getsockname())
    sock.settimeout(2.0)
    return sock


def _blocking(sock: socket.socket) -> socket.socket:
    """A socket for a loop: blocking, as the relay's forwarding threads have them."""
    sock.settimeout(None)
    return sock


def test_the_public_loop_frames_known_flows_and_hands_up_the_rest_in_order() -> None:
    public, backend, known, stranger = _udp(), _udp(), _udp(), _udp()
    link = _udp(connect=backend)
    try:
        table = _fastloop.Table()
        port = known.getsockname()[1]
        table.set(1, _v4(port), _header(port), link.fileno())
        loop = _fastloop.Loop(table, _blocking(public).fileno(), -1, _fastloop.PUBLIC)
        to = public.getsockname()
        known.sendto(b"\x80first", to)
        known.sendto(b"\x00\x01stun", to)  # STUN: the forwarder looks at it
        known.sendto(b"\x17second", to)
        stranger.sendto(b"\x17who", to)
        # One batch of four: the first forwarded before the STUN datagram is handed up.
        assert loop.run() == 1
        assert backend.recv(100) == _header(port) + b"\x80first"
        assert loop.take(1) == b"\x00\x01stun"
        assert loop.sender(1) == batchio.key_of(_v4(port))
        assert loop.run() == 3  # the second forwarded, the stranger handed up
        assert backend.recv(100) == _header(port) + b"\x17second"
        assert loop.take(3) == b"\x17who"
        assert loop.counters() == (2, len(b"\x80first\x17second"), 0)
        # What SocketThreads.stop does: ENOTCONN, but the receive is woken all the same.
        with contextlib.suppress(OSError):
            public.shutdown(socket.SHUT_RD)
        index = loop.run()
        assert index == -1 or loop.take(index) == b""
    finally:
        for s in (public, backend, known, stranger, link):
            s.close()


def test_a_link_loop_sends_payloads_to_clients_and_hands_up_unknown_frames() -> None:
    public, backend, known = _udp(), _udp(), _udp()
    link = _udp(connect=backend)
    backend.connect(link.getsockname())
    try:
        table = _fastloop.Table()
        port = known.getsockname()[1]
        table.set(1, _v4(port), _header(port), link.fileno())
        loop = _fastloop.Loop(table, _blocking(link).fileno(), public.fileno(), _fastloop.LINK)
        backend.send(_header(port) + b"\x17reply")
        backend.send(_header(port + 1) + b"\x17nobody")  # no such flow
        backend.send(b"\xc4\x00")  # not a whole header
        assert loop.run() == 1
        assert known.recvfrom(100) == (b"\x17reply", public.getsockname())
        assert loop.take(1) == _header(port + 1) + b"\x17nobody"
        assert loop.sender(1) is None
        assert loop.run() == 2
        assert loop.take(2) == b"\xc4\x00"
        assert loop.counters() == (1, len(b"\x17reply"), 0)
    finally:
        for s in (public, backend, known, link):
            s.close()


@contextlib.contextmanager
def _group_rig() -> Iterator[
    tuple[socket.socket, socket.socket, socket.socket, int, _fastloop.Group, _fastloop.Loop,
          _fastloop.Loop]
]:  # fmt: skip
    """A public socket, a backend and its connected link, a known client on ``port`` routed to
    the link, an empty Group, and the public (outward) and link (back) loops, not yet added."""
    public, backend, known = _udp(), _udp(), _udp()
    link = _udp(connect=backend)
    backend.connect(link.getsockname())
    try:
        table = _fastloop.Table()
        port = known.getsockname()[1]
        table.set(1, _v4(port), _header(port), link.fileno())
        outward = _fastloop.Loop(table, _blocking(public).fileno(), -1, _fastloop.PUBLIC)
        back = _fastloop.Loop(table, _blocking(link).fileno(), public.fileno(), _fastloop.LINK)
        yield public, backend, known, port, _fastloop.Group(), outward, back
    finally:
        for s in (public, backend, known, link):
            s.close()


def test_a_group_forwards_both_ways_in_one_thread_and_takes_links_while_it_waits() -> None:
    with _group_rig() as (public, backend, known, port, group, outward, back):
        group.add(outward)
        with pytest.raises(RuntimeError, match="in a Group"):
            outward.run()  # the group's now
        with pytest.raises(RuntimeError, match="in a Group"):
            _fastloop.Group().add(outward)
        got: list[tuple[_fastloop.Loop, int, bytes | None]] = []

        def serve() -> None:
            while len(got) < 3:
                loop, i = group.run()
                got.append((loop, i, loop.take(i) if i >= 0 else None))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        known.sendto(b"\x80out", public.getsockname())
        assert backend.recv(100) == _header(port) + b"\x80out"  # forwarded in C
        # The link's loop, added while run() waits in poll() without the GIL.
        group.add(back)
        assert len(group) == 2
        backend.send(_header(port) + b"\x17back")
        assert known.recvfrom(100) == (b"\x17back", public.getsockname())
        backend.send(_header(port + 1) + b"\x17nobody")  # handed up by the link's loop
        known.sendto(b"\x00\x01stun", public.getsockname())  # handed up by the public one
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        # What SocketThreads.stop does: run() reports the shut-down socket as index -1.
        with contextlib.suppress(OSError):
            public.shutdown(socket.SHUT_RD)
        thread.join(5)
        assert not thread.is_alive()
        assert sorted((loop is back, i, data) for loop, i, data in got) == [
            (False, -1, None),
            (False, 0, b"\x00\x01stun"),
            (True, 0, _header(port + 1) + b"\x17nobody"),
        ]
        assert outward.counters() == (1, len(b"\x80out"), 0)
        assert back.counters() == (1, len(b"\x17back"), 0)


def test_a_group_takes_one_batch_per_socket_per_turn() -> None:
    # A public socket that always has a full batch waiting must not starve the links.
    with _group_rig() as (public, backend, known, port, group, outward, back):
        group.add(outward)
        group.add(back)
        count = 4 * _fastloop.BATCH
        for i in range(count):
            known.sendto(b"\x80" + bytes([i]), public.getsockname())
        backend.send(_header(port + 1) + b"\x17nobody")  # handed up
        loop, i = group.run()
        assert (loop, i) == (back, 0)
        assert outward.counters()[0] == _fastloop.BATCH  # one batch, then the link's turn
        assert backend.recv(100) == _header(port) + b"\x80\x00"


def test_a_flow_only_the_c_loop_carried_is_not_expired() -> None:
    # The C loops stamp their own table, not the Python flow: expiry asks before it drops.
    async def scenario() -> None:
        t1 = await start_transceiver()
        worker = RelayWorker(relay_config({1: t1.address}, io="c", idle_timeout=30.0))
        await worker.start()
        try:
            c = await client(worker.public_address)
            c.send(ufrag_request(Route(0, 1)))
            await c.recv()
            (flow,) = worker.forwarder.by_header.values()
            flow.last_seen -= 100  # as if the flow had been quiet in Python for long
            c.send(b"\x17media")
            assert await c.recv() == b"echo:\x17media"
            fw = worker.forwarder
            worker._in_forwarder(fw.expire, time.monotonic() + 29)
            assert fw.flows_expired == 0 and len(fw.by_header) == 1
            assert flow.last_seen > time.monotonic() - 5  # brought up to date
            worker._in_forwarder(fw.expire, time.monotonic() + 31)
            assert fw.flows_expired == 1
            assert worker._c_table is not None and len(worker._c_table) == 0
            c.close()
        finally:
            await worker.stop()

    asyncio.run(scenario())
