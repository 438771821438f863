"""The relay's forwarding loops (``--io thread``): one per socket, each in a thread of its own.

A worker (relay.server) starts them; every decision is the forwarder's (relay.forwarder).
Each loop is built once as closures: everything a datagram needs is a local of the enclosing
call, so it pays for no attribute lookups.

* The public socket's loop (:func:`public_loop`): client datagrams (and chained frames) out
  to backends, framed with the client's address.
* A backend socket's loop (:func:`backend_loop`): frames from a backend link (connected: the
  kernel checked the source) back to clients, or strays on the unconnected backend socket,
  which are only checked and counted.

Both alternate between two ways of reading, through one switch (:func:`alternate`). At light
load a receive returns one datagram, and then the socket module's
recvfrom_into/recv_into/send/sendto (no libffi, no mmsghdr walk) save several µs per round trip
over recvmmsg/sendmmsg through ctypes (relay.batchio). A loop switches to recvmmsg batches
(blocking for the first datagram only) when 8 datagrams arrive within 8 × ``_LIGHT_GAP``, and
back when a batch holds a single datagram.

The one-datagram fast path (a known flow, not STUN) is lean on purpose: every 100 ns there
showed up several times over in the added latency, because a longer stay on the CPU makes the
next hop's wake-up more often land on the other, idle, CPU. So it takes no lock (each step is
one dict or attribute operation, atomic under the GIL, and a flow that expires meanwhile
forwards one more datagram), reads the clock every 8th datagram only, stamps flows with the
time the housekeeping read last (0.1 s old at most), and counts into a list of the thread's
own. Everything that changes the flow table — the slow paths, batches, housekeeping — holds
the lock (relay.iothread).

With the C extension built (``--io c``, the default where it is: relay/_fastloop.c), one
thread runs :func:`c_group_loop` instead, for the public socket and every backend link (a
relay._fastloop Group: poll, then each ready socket's batch): recvmmsg, the lookup of a
known flow, the frame header and sendmmsg happen in C with the GIL released, and only what
the C loops hand up (new flows, STUN, unknown headers, chained flows, truncated datagrams)
comes back to Python, through the same forwarder calls as here. One thread rather than one
per socket: a round trip through the relay then sleeps and wakes one thread, often only once
(the reply finds it still awake), where a thread per socket sleeps and wakes twice, and each
wake-up can wait for a core on a loaded host. The pure-Python loops stay the fallback and
are tested with the same cases.
"""

from __future__ import annotations

import errno
import functools
import socket
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from relay import batchio
from relay.flows import Flow
from relay.forwarder import Drop

if TYPE_CHECKING:
    from relay.server import RelayWorker

# Datagrams on one socket further apart than this are read one at a time through the socket
# module; closer together, in batches.
_LIGHT_GAP = 20e-6
_READS_PER_LOOK = 8  # one-datagram reads between two looks at the clock
_BURST = _READS_PER_LOOK * _LIGHT_GAP
# A forwarding thread's counters, in its list (RelayWorker._stats_list).
STATS = (
    "packets_from_clients_total",
    "bytes_from_clients_total",
    "packets_to_clients_total",
    "bytes_to_clients_total",
)


def alternate(
    one: Callable[[], bool],
    many: Callable[[], int],
    clock: Callable[[], float],
    light: bool = True,
) -> None:
    """A forwarding thread's loop: the light/burst switch between ``one()``, which reads and
    forwards one datagram through the socket module (False once the thread is to stop), and
    ``many()``, which reads and forwards a recvmmsg batch (how many datagrams it read, or -1
    once the thread is to stop). Starts with single datagrams if ``light``, and never uses
    them otherwise."""
    allowed = light
    last = 0.0
    while True:
        if light:
            for _ in range(_READS_PER_LOOK):
                if not one():
                    return
            now = clock()
            light = now - last >= _BURST  # else a burst: batches from the next receive on
            last = now
        else:
            n = many()
            if n < 0:
                return
            light = n == 1 and allowed


def public_loop(worker: RelayWorker) -> Callable[[], None]:
    """The loop for the public socket: client datagrams (and chained frames) out to
    backends."""
    assert worker._threads is not None
    threads = worker._threads
    lock = threads.lock
    batch = worker._pub_batch
    fw = worker.forwarder
    flows, drops, stats = fw.flows, fw.drops, worker._stats_list()
    view, recv32, names64, data64 = batch.view, batch.recv32, batch.names64, batch.data64
    siov, sendmmsg, smsgs = batch.siov64, batch.sendmmsg, batch.smsgs
    slots, bases = worker._pub_slots, batch.bases
    receive = batch.receiver(worker.public.fileno(), wait=True)
    clock, coarse = worker._clock, worker._coarse
    capacity, af_inet = batchio.CAPACITY, socket.AF_INET
    ipv6 = worker.public.family != socket.AF_INET  # (socket.family is slow: a µs or two)
    family = worker.public.family
    # The one-datagram path receives into slot 0, like a batch of one.
    off0 = slots[0][2]
    slot0 = view[off0 : off0 + capacity]
    recvfrom_into, addr_flows = worker.public.recvfrom_into, worker._addr_flows
    link_sends, msg_trunc = worker._link_sends, socket.MSG_TRUNC
    dontwait = batchio.MSG_DONTWAIT

    def slow(i: int, key: int | bytes, length: int, now: float) -> Flow | None:
        """Everything but a known flow's non-STUN datagram, through the forwarder."""
        if batch.length(i) < 0:
            drops[Drop.TRUNCATED] += 1
            return None
        off = batch.offsets[i]
        return worker._from_public(key, bytes(view[off : off + length]), now)

    def one_slow(length: int, address: tuple[str | int, ...]) -> Flow | None:
        """The one-datagram path's everything-but-a-known-flow, under the lock; the flow
        to frame for."""
        if length > capacity:
            drops[Drop.TRUNCATED] += 1
            return None
        key = batchio.key_of_address(address, family)
        flow = worker._from_public(key, bytes(slot0[:length]), clock())
        if fw.lookups or fw.cache_writes:
            worker._cache_work()
        if flow is None:
            return None
        if flow.via is not None:  # chained: the frame goes on as it came
            if _send_one(link_sends[flow.tx[0]], view[off0 : off0 + length], drops):
                stats[0] += 1
                stats[1] += length
            return None
        if flows.get(key) is flow:
            flow.client_address = address
            addr_flows[address] = flow
        return flow

    def one() -> bool:
        length, address = recvfrom_into(slot0, 0, msg_trunc)
        flow = addr_flows.get(address)
        first = view[off0]
        # The fast path: a known flow, and not STUN (first byte 0–1; RFC 7983).
        if flow is None or first < 2 or length >= capacity:
            if address is None:  # shut down: stop() wants the thread back
                return False
            with lock:
                flow = one_slow(length, address)
            if flow is None:
                return True
        flow.last_seen = coarse[0]
        header = flow.header
        # (A slice store: half the time of the batch path's u64 store here.)
        start = off0 - len(header)
        view[start:off0] = header
        link = flow.tx[0]
        stats[0] += 1
        stats[1] += length
        try:
            link_sends[link](view[start : off0 + length], dontwait)
        except OSError as error:
            if _buffer_full(error):
                stats[0] -= 1
                stats[1] -= length
                with lock:
                    drops[Drop.SEND_FAILED] += 1
        return True

    def many() -> int:
        n = receive()
        if n <= 0:
            if n:
                batch.recv_failed()
            elif threads.stopped:
                return -1
            return 0
        with lock:
            now = clock()
            nbytes = j = 0
            links: list[int] = []
            for i in range(n):
                name_index, len_index, off, header_index, base = slots[i]
                key: int | bytes = names64[name_index]
                if ipv6 and key & 0xFFFF != af_inet:  # type: ignore[operator]
                    key = batch.key(i)
                flow = flows.get(key)
                first = view[off]
                length = recv32[len_index]
                if flow is None or first < 2 or length >= capacity:
                    flow = slow(i, key, length, now)
                    if flow is None:
                        continue
                    if flow.via is not None:  # chained: the frame goes on as it came
                        links.append(flow.tx[0])
                        siov[j << 1] = bases[i]
                        siov[(j << 1) + 1] = length
                        j += 1
                        continue
                else:
                    flow.last_seen = now
                link, header_int, header = flow.tx
                links.append(link)
                if header_int:
                    # IPv4: the 7-byte header ends where the payload starts, 8-byte
                    # aligned with the payload's first byte: one store writes it.
                    data64[header_index] = header_int | first << 56
                    siov[j << 1] = base
                    siov[(j << 1) + 1] = length + 7
                else:
                    hl = len(header)
                    view[off - hl : off] = header
                    siov[j << 1] = bases[i] - hl
                    siov[(j << 1) + 1] = length + hl
                j += 1
                nbytes += length
            if fw.lookups or fw.cache_writes:
                worker._cache_work()
        stats[0] += j
        stats[1] += nbytes
        if j:  # sent without the lock: the buffers are this thread's
            link = links[0]
            if links.count(link) == j:  # one backend in the batch: the common case
                sent = sendmmsg(link, smsgs, j, dontwait)
                if sent != j:
                    sent = batch.finish_send(link, j, sent)
            else:
                sent = _send_grouped(batch, links, j)
            if sent < j:
                stats[0] -= j - sent
                with lock:
                    drops[Drop.SEND_FAILED] += j - sent
        # (A flood would keep the receive from ever coming back empty.)
        return -1 if threads.stopped else n

    return functools.partial(alternate, one, many, clock)


def backend_loop(
    worker: RelayWorker, sock: socket.socket, check_source: bool
) -> Callable[[], None]:
    """The loop for frames from a backend link (connected: the kernel checked the source),
    or for strays on the unconnected backend socket (``check_source``)."""
    assert worker._threads is not None
    threads = worker._threads
    lock = threads.lock
    # Each socket's thread has buffers of its own.
    batch = batchio.Batch(worker.config.batch_size, _namelen(worker.public), batchio.HEADROOM)
    fw = worker.forwarder
    drops, stats, v4_flows = fw.drops, worker._stats_list(), worker._v4_flows
    recv32, names64, data64 = batch.recv32, batch.names64, batch.data64
    send64, siov, sendmmsg, smsgs = batch.send64, batch.siov64, batch.sendmmsg, batch.smsgs
    slots, bases = _backend_slots(batch), batch.bases
    public_fd, fd = worker.public.fileno(), sock.fileno()
    ipv6 = sock.family != socket.AF_INET  # once here: slow on the hot path
    # Links skip reading the sender's name, so they need no reset of the headers (and
    # may differ in family); the stray socket reads names, through the full recv().
    receive = (
        functools.partial(batch.recv, fd, True) if check_source else batch.receiver(fd, wait=True)
    )
    clock, coarse = worker._clock, worker._coarse
    capacity, af_inet = batchio.CAPACITY, socket.AF_INET
    mask = (1 << 56) - 1
    view = batch.view
    data_index0 = slots[0][2]
    off0 = batch.offsets[0]
    slot0 = view[off0 : off0 + capacity]
    # Strays need the sender's name: only links take the one-datagram path.
    recv_into = sock.recv_into
    sendto, msg_trunc = worker.public.sendto, socket.MSG_TRUNC
    dontwait = batchio.MSG_DONTWAIT

    def slow(i: int, length: int, now: float) -> Flow | None:
        if batch.length(i) < 0:
            drops[Drop.TRUNCATED] += 1
            return None
        off = batch.offsets[i]
        return worker._from_link(bytes(view[off : off + length]), now)

    def one_slow(flow: Flow | None, length: int) -> None:
        """The one-datagram path's rare cases, under the lock: a frame the fast path
        cannot place, or a flow whose client address only batches have seen (or
        chained): a batch of one."""
        if flow is None or length < 7 or length >= capacity:
            if length > capacity:
                drops[Drop.TRUNCATED] += 1
                return
            flow = worker._from_link(bytes(slot0[:length]), clock())
            if flow is None:
                return
            address = flow.client_address
            if flow.via is None and address is not None:
                hl = len(flow.header)
                stats[2] += 1
                stats[3] += length - hl
                try:
                    sendto(slot0[hl:length], dontwait, address)
                except OSError as error:
                    if _buffer_full(error):
                        drops[Drop.SEND_FAILED] += 1
                        stats[2] -= 1
                        stats[3] -= length - hl
                return
        hl = len(flow.header)
        via = flow.via
        if via is None:
            send64[0] = flow.client_ptr
            siov[0] = bases[0] + hl
            siov[1] = length - hl
            stats[3] += length - hl
        else:
            send64[0] = via.ptr
            siov[0] = bases[0]
            siov[1] = length
        stats[2] += 1
        sent = sendmmsg(public_fd, smsgs, 1, dontwait)
        if sent != 1 and batch.finish_send(public_fd, 1, sent) < 1:
            drops[Drop.SEND_FAILED] += 1
            stats[2] -= 1

    def one() -> bool:
        try:
            length = recv_into(slot0, 0, msg_trunc)
        except OSError:  # an ICMP error from the backend (gone, restarting)
            return True
        # An IPv4 frame header is 7 bytes: with the byte after it, one aligned
        # u64. (Keys all start with 0xC4, so anything else simply misses.)
        flow = v4_flows.get(data64[data_index0] & mask)
        # Only direct flows get a client_address (the one-datagram path of the
        # public socket sets it), so None also sends chained flows the slow way.
        if (
            flow is None
            or length < 7
            or length >= capacity
            or (address := flow.client_address) is None
        ):
            if not length and threads.stopped:  # shut down
                return False
            with lock:
                one_slow(flow, length)
            return True
        flow.last_seen = coarse[0]
        # Counted before sending: once a client has its reply, the counters
        # (read by another thread) already include it.
        stats[2] += 1
        stats[3] += length - 7
        try:
            sendto(slot0[7:length], dontwait, address)
        except OSError as error:
            if _buffer_full(error):
                stats[2] -= 1
                stats[3] -= length - 7
                with lock:
                    drops[Drop.SEND_FAILED] += 1
        return True

    def many() -> int:
        n = receive()
        if n <= 0:
            if n:
                batch.recv_failed()
            elif threads.stopped:
                return -1
            return 0
        with lock:
            now = clock()
            j = nbytes = 0
            for i in range(n):
                name_index, len_index, data_index, payload = slots[i]
                if check_source:
                    source: int | bytes = names64[name_index]
                    if ipv6 and source & 0xFFFF != af_inet:  # type: ignore[operator]
                        source = batch.key(i)
                    if source not in worker._trusted:
                        drops[Drop.UNTRUSTED_SOURCE] += 1
                        continue
                flow = v4_flows.get(data64[data_index] & mask)
                length = recv32[len_index]
                if flow is None or length < 7 or length >= capacity:
                    flow = slow(i, length, now)
                    if flow is None:
                        continue
                    via = flow.via
                    if via is None:
                        hl = len(flow.header)
                        send64[j << 3] = flow.client_ptr
                        siov[j << 1] = bases[i] + hl
                        siov[(j << 1) + 1] = length - hl
                        nbytes += length - hl
                    else:
                        send64[j << 3] = via.ptr
                        siov[j << 1] = bases[i]
                        siov[(j << 1) + 1] = length
                    j += 1
                    continue
                flow.last_seen = now
                via = flow.via
                if via is None:
                    send64[j << 3] = flow.client_ptr
                    siov[j << 1] = payload
                    siov[(j << 1) + 1] = length - 7
                    nbytes += length - 7
                else:
                    send64[j << 3] = via.ptr
                    siov[j << 1] = payload - 7
                    siov[(j << 1) + 1] = length
                j += 1
        # Counted before sending, as above; sent without the lock.
        stats[2] += j
        stats[3] += nbytes
        if j:
            sent = sendmmsg(public_fd, smsgs, j, dontwait)
            if sent != j:
                sent = batch.finish_send(public_fd, j, sent)
                if sent < j:
                    stats[2] -= j - sent
                    with lock:
                        drops[Drop.SEND_FAILED] += j - sent
        return -1 if threads.stopped else n

    return functools.partial(alternate, one, many, clock, not check_source)


def c_group_loop(worker: RelayWorker) -> Callable[[], None]:
    """The thread body of C mode: one relay._fastloop Group runs the public socket's loop
    and every backend link's (added by :func:`c_add_link`), forwarding known flows both ways
    in this one thread; what a loop hands up goes to that loop's handler, under the lock."""
    assert worker._threads is not None and worker._c_table is not None
    from relay import _fastloop as native

    group = worker._c_group = native.Group()
    handlers = worker._c_handlers
    loop, handlers[loop] = _c_public(worker)
    group.add(loop)
    threads, drops = worker._threads, worker.forwarder.drops

    def serve() -> None:
        run, lock = group.run, threads.lock
        while True:
            loop, i = run()
            if i < 0:  # a socket shut down: stop() wants the thread back
                if threads.stopped:
                    return
                continue
            data = loop.take(i)
            if not data and threads.stopped:  # shut down: receives return b""
                return
            with lock:
                if data is None:
                    drops[Drop.TRUNCATED] += 1
                else:
                    handlers[loop](i, data)

    return serve


def c_add_link(worker: RelayWorker, sock: socket.socket) -> None:
    """Run a new backend link's loop in the worker's Group (its thread wakes to add it)."""
    assert worker._c_group is not None
    loop, handle = _c_link(worker, sock)
    worker._c_handlers[loop] = handle  # before the group can hand anything up
    worker._c_group.add(loop)


def _c_public(worker: RelayWorker) -> tuple[Any, Callable[[int, bytes], None]]:
    """The public socket's loop in C (relay._fastloop) and the handler of what it hands up,
    forwarded here as the one-datagram path's slow case does."""
    assert worker._c_table is not None
    from relay import _fastloop as native

    loop = native.Loop(worker._c_table, worker.public.fileno(), -1, native.PUBLIC)
    worker._c_loops.append((0, loop))  # counts hotloop.STATS[0:2]
    fw = worker.forwarder
    drops, stats, clock = fw.drops, worker._stats_list(), worker._clock
    link_sends = worker._link_sends
    sender = loop.sender

    def handle(i: int, datagram: bytes) -> None:
        key = sender(i)
        assert key is not None
        flow = worker._from_public(key, datagram, clock())
        if fw.lookups or fw.cache_writes:
            worker._cache_work()
        if flow is None:
            return
        # Chained: the frame goes on as it came.
        frame = datagram if flow.via is not None else flow.header + datagram
        if _send_one(link_sends[flow.tx[0]], frame, drops):  # type: ignore[arg-type]
            stats[0] += 1
            stats[1] += len(datagram)

    return loop, handle


def _c_link(worker: RelayWorker, sock: socket.socket) -> tuple[Any, Callable[[int, bytes], None]]:
    """A backend link's loop in C (relay._fastloop) and the handler of what it hands up
    (unknown headers, chained flows, bad and truncated frames): the forwarder's."""
    assert worker._c_table is not None
    from relay import _fastloop as native

    public_fd = worker.public.fileno()
    loop = native.Loop(worker._c_table, sock.fileno(), public_fd, native.LINK)
    worker._c_loops.append((2, loop))  # counts hotloop.STATS[2:4]
    fw = worker.forwarder
    drops, stats, clock, sendto = fw.drops, worker._stats_list(), worker._clock, native.sendto

    def handle(_: int, frame: bytes) -> None:
        flow = fw.from_backend(frame, clock())
        if flow is None:
            return
        via = flow.via
        if via is None:  # a direct flow the C table does not know (yet)
            assert isinstance(flow.key, int | bytes)
            payload = frame[len(flow.header) :]
            if sendto(public_fd, payload, batchio.sockaddr_of(flow.key)):
                stats[2] += 1
                stats[3] += len(payload)
            else:
                drops[Drop.SEND_FAILED] += 1
        elif sendto(public_fd, frame, via.sockaddr):  # chained: back to that relay
            stats[2] += 1
        else:
            drops[Drop.SEND_FAILED] += 1

    return loop, handle


def _send_one(
    send: Callable[[memoryview, int], int], datagram: memoryview, drops: Counter[str]
) -> bool:
    """One datagram through the socket module; False (and counted) if the buffer was full."""
    try:
        send(datagram, batchio.MSG_DONTWAIT)
    except OSError as error:
        if _buffer_full(error):
            drops[Drop.SEND_FAILED] += 1
            return False
    return True


def _buffer_full(error: OSError) -> bool:
    """Whether a send failed for want of buffer space. Anything else is an ICMP error
    reported on this send (a backend or client gone): as batchio's send does, that datagram
    counts as sent."""
    return error.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS, errno.EINTR)


def _send_grouped(batch: batchio.Batch, links: list[int], count: int) -> int:
    """Send a batch bound for several backends: regroup it by link, one sendmmsg each."""
    siov = batch.siov64
    entries = [(links[k], siov[k << 1], siov[(k << 1) + 1]) for k in range(count)]
    entries.sort(key=lambda entry: entry[0])
    for k, (_, base, length) in enumerate(entries):
        siov[k << 1] = base
        siov[(k << 1) + 1] = length
    sent = start = 0
    while start < count:
        fd = entries[start][0]
        end = start
        while end < count and entries[end][0] == fd:
            end += 1
        sent += batch.send(fd, end - start, start)
        start = end
    return sent


def _backend_slots(batch: batchio.Batch) -> list[tuple[int, int, int, int]]:
    """Per receive slot of a backend batch: u64 index of its sender's name, u32 index of its
    length, u64 index of its (IPv4 frame header's) first 8 bytes, and the payload's address."""
    return [
        (i << 2, (i << 4) + 14, off >> 3, base + 7)
        for i, (off, base) in enumerate(zip(batch.offsets, batch.bases, strict=True))
    ]


def _namelen(sock: socket.socket) -> int:
    return 16 if sock.family == socket.AF_INET else batchio.SOCKADDR_SIZE
