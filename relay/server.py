"""A relay worker's lifecycle: its sockets, their threads or transports, housekeeping.

A worker owns a *public* socket (``--listen``, shared by workers through SO_REUSEPORT, which
hashes each client's 4-tuple to one worker) that talks to clients and to upstream relays, and
backend-facing sockets on ephemeral ports, one set per worker, so that replies come back to the
worker that owns the flow. Every decision is the :class:`~relay.forwarder.Forwarder`'s; the
worker only moves bytes, in one of two modes:

* ``c`` (the default where relay._fastloop was built) and ``thread`` (the default on Linux
  otherwise): in ``thread`` mode one thread per socket, blocked in its receive
  (relay.iothread), running a forwarding loop of relay.hotloop, so a datagram goes from the
  kernel to the code that forwards it with no readiness call in between; in ``c`` mode one
  thread polls the public socket and every link and forwards known flows both ways in C (a
  round trip wakes one thread, not two), plus the Python thread of the backend socket. Each
  backend gets its own *connected* socket (a "link"): sends skip the per-datagram route lookup of an
  unconnected socket, and the kernel only lets that backend's datagrams in, so replies need
  no source check; the unconnected backend socket only counts strays. The threads share the
  flow table under one lock; the asyncio loop keeps housekeeping (expiry, Redis, registry,
  metrics, signals) and takes the same lock for the forwarder's share of it
  (``SocketThreads.call``). This module opens the links, precomputes what the loops send per
  flow (``_on_route``) and hands their slow paths to the forwarder (``_from_public``,
  ``_from_link``). In ``c`` mode the loops are C (relay._fastloop) for known flows, reading
  a table of the direct flows that ``_on_route``/``_on_forget`` keep in step with the
  forwarder's; ``thread`` runs the pure-Python loops of relay.hotloop.
* ``asyncio``: ``DatagramProtocol`` on the running loop (uvloop when installed). Simpler and
  portable, slower; its two handlers live here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pywebrtc.framing import encode_address
from relay import batchio, fastpath, hotloop
from relay.cache import RouteCache
from relay.flows import Address, Backend, Flow
from relay.forwarder import MAX_ADDRESSES_PER_UFRAG, Drop, Forwarder, backends
from relay.iothread import SocketThreads
from relay.routing import UfragCodec
from relay.tcp import TcpRelay

if TYPE_CHECKING:
    from relay import _fastloop

log = logging.getLogger(__name__)

_SOCKET_BUFFER = 4 << 20
_TICK = 0.1  # housekeeping: the coarse clock of flow stamps, a slice of expiry
_EXPIRE_SLICE = 2048  # flows looked at per tick


@dataclass
class RelayConfig:
    listen: Address
    codec: UfragCodec
    transceivers: dict[int, Address]
    cluster: int = 0
    peer_relays: dict[int, Address] = field(default_factory=dict)
    redis_url: str | None = None
    # "c" (C loops, relay._fastloop), "thread" (Python loops), "asyncio", or "auto": c where
    # the extension was built, else thread where batchio works, else asyncio
    io: str = "auto"
    batch_size: int = 32
    max_flows: int = 100_000
    max_addresses_per_ufrag: int = MAX_ADDRESSES_PER_UFRAG  # one session's client addresses
    idle_timeout: float = 30.0
    cache_ttl: float = 30.0
    cache_refresh: float = 5.0
    backend_bind: str | None = None  # host for the backend socket; default from listen
    reuse_port: bool = False
    registry_interval: float = 0.0  # > 0 with redis_url: poll the transceiver registry
    listen_tcp: Address | None = None  # ICE-TCP clients (relay.tcp)


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_udp(address: Address, reuse_port: bool = False) -> socket.socket:
    sock = socket.socket(_family(address[0]), socket.SOCK_DGRAM)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, _SOCKET_BUFFER)
    sock.bind(address)
    sock.setblocking(False)
    return sock


class RelayWorker:
    """One relay worker. ``await start()``, then ``await stop()``; or ``await serve()``."""

    def __init__(self, config: RelayConfig, public: socket.socket | None = None) -> None:
        self.config = config
        mode = config.io
        if mode == "auto":
            if not batchio.available():
                mode = "asyncio"
            else:
                mode = "c" if fastpath.available() else "thread"
        if mode == "c":
            fastpath.require()
        self.mode = mode
        # Thread per socket (c, thread) or transports on the loop (asyncio).
        self.threaded = mode != "asyncio"
        self.public = public if public is not None else bind_udp(config.listen, config.reuse_port)
        backend_host = config.backend_bind or _backend_host(config)
        self.private = bind_udp((backend_host, 0))
        self.public_address: Address = self.public.getsockname()[:2]
        self.backend_address: Address = self.private.getsockname()[:2]
        self._private_family = self.private.family
        batched = self.threaded
        header_of: Callable[[object], bytes] = (
            batchio.frame_header if batched else encode_address  # type: ignore[assignment]
        )
        self.forwarder: Forwarder[object] = Forwarder(
            config.codec,
            header_of,
            backends(config.transceivers),
            cluster=config.cluster,
            peer_relays=backends(config.peer_relays, chained=True),
            max_flows=config.max_flows,
            max_addresses_per_ufrag=config.max_addresses_per_ufrag,
            idle_timeout=config.idle_timeout,
            cache_enabled=config.redis_url is not None,
            cache_refresh=config.cache_refresh,
        )
        self.cache = RouteCache(config.redis_url, config.cache_ttl) if config.redis_url else None
        self.tcp = (
            TcpRelay(
                config.listen_tcp,
                config.codec,
                config.cluster,
                self.forwarder.transceivers,
                backend_host,
                reuse_port=config.reuse_port,
            )
            if config.listen_tcp is not None
            else None
        )
        self.counters = dict.fromkeys(
            (
                "packets_from_clients_total",
                "bytes_from_clients_total",
                "packets_to_clients_total",
                "bytes_to_clients_total",
                "route_cache_hits_total",
            ),
            0,
        )
        self._peer_hosts = {socket.inet_pton(_family(h), h) for h, _ in config.peer_relays.values()}
        self._via: dict[object, Backend] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._cache_task: asyncio.Task[None] | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transports: list[asyncio.DatagramTransport] = []
        self._stopped = asyncio.Event()
        self._trusted: set[object] = set()
        self._v4_flows: dict[int, Flow] = {}  # thread mode: IPv4 frame header as an int
        self._links: dict[Address, socket.socket] = {}  # thread mode: backend -> connected socket
        self._link_sends: dict[int, Callable[[memoryview, int], int]] = {}  # link fd -> send
        self._addr_flows: dict[tuple[str | int, ...], Flow] = {}  # one-datagram path's index
        # Thread mode: the forwarding threads, their counters, the time the housekeeping last
        # read (flows' last_seen on the one-datagram path), and route-cache work for the loop.
        self._threads: SocketThreads | None = None
        self._stats: list[list[int]] = []
        self._coarse = [0.0]
        self._clock: Callable[[], float] = time.monotonic
        # C mode: the direct flows the C loops forward, and the loops (for their counters).
        self._c_table: _fastloop.Table | None = None
        self._c_loops: list[tuple[int, _fastloop.Loop]] = []  # (hotloop.STATS index, loop)
        self._c_group: _fastloop.Group | None = None  # the loops, run in one thread
        self._c_handlers: dict[_fastloop.Loop, Callable[[int, bytes], None]] = {}
        self._c_deferred: list[Flow] | None = None  # see _cache_answers
        self._cache_inbox: deque[tuple[list[tuple[bytes, object]], list[tuple[object, bytes]]]]
        self._cache_inbox = deque()
        self._cache_signalled = False
        self._refresh_trusted()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        if self.cache is not None:
            # Ready means routing: the registry read and Redis connected (for the route
            # cache's first lookups) before a datagram is read and "relay worker on" logged,
            # so that a replacement routes the packets of live calls at once (they wait in
            # the socket's buffer meanwhile). Redis down costs its connect timeout, once.
            if self.config.registry_interval > 0:
                await self._read_registry()
            else:
                await self.cache.ping()
        if self.mode == "asyncio":
            self._clock = loop.time
        # (Thread mode reads time.monotonic: uvloop's loop.time() moves in whole
        # milliseconds, too coarse to tell datagrams 20 µs apart.)
        if self.threaded:
            # The public socket's batch; each backend socket's thread makes its own.
            # Each batch sends through the other socket: its address family fixes namelen.
            # Client datagrams land 1 byte short of 8-byte alignment, so that an IPv4 frame
            # header (7 bytes) plus the payload's first byte is one aligned u64 store;
            # frames from backends land aligned, so their IPv4 header reads as one u64.
            size = self.config.batch_size
            # Links are connected: outgoing client datagrams carry no address (namelen 0).
            self._pub_batch = batchio.Batch(size, 0, batchio.HEADROOM - 1)
            # Per receive slot: u64 index of its sender's name, u32 index of its length, its
            # payload offset, u64 index of an IPv4 header in front, and that header's address.
            self._pub_slots = [
                (i << 2, (i << 4) + 14, off, (off - 7) >> 3, base - 7)
                for i, (off, base) in enumerate(
                    zip(self._pub_batch.offsets, self._pub_batch.bases, strict=True)
                )
            ]
            self.forwarder.on_route = self._on_route
            self.forwarder.on_forget = self._on_forget
            if self.mode == "c":
                from relay import _fastloop

                self._c_table = _fastloop.Table()
                self.forwarder.last_seen_of = self._c_last_seen
            self._coarse[0] = self._clock()
            threads = self._threads = SocketThreads(f"relay-io-{self.public_address[1]}")
            # Each thread blocks in its receive; sends pass MSG_DONTWAIT.
            self.public.setblocking(True)
            self.private.setblocking(True)
            if self._c_table is not None:
                threads.add(self.public, hotloop.c_group_loop(self))
            else:
                threads.add(self.public, hotloop.public_loop(self))
            # Strays only: always the Python loop.
            threads.add(self.private, hotloop.backend_loop(self, self.private, True))
        else:
            public, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self._on_public_datagram), sock=self.public
            )
            private, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self._on_private_datagram), sock=self.private
            )
            self._pub_transport, self._priv_transport = public, private
            self._transports = [public, private]
        if self.tcp is not None:
            await self.tcp.start()
        self._housekeeping = loop.create_task(self._tick())
        if self.cache is not None and self.config.registry_interval > 0:
            task = loop.create_task(self._poll_registry())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        log.info(
            "relay worker on %s (%s mode), backend socket %s, cluster %d, %d transceivers",
            self.public_address,
            self.mode,
            self.backend_address,
            self.config.cluster,
            len(self.config.transceivers),
        )

    async def stop(self) -> None:
        """Stop reading, flush route-cache writes, close the sockets."""
        if self._loop is None:
            return
        if self._threads is not None:
            self._threads.stop()  # after the datagrams in hand (µs)
        if self.tcp is not None:
            await self.tcp.stop()
        for link in self._links.values():
            link.close()
        self._links.clear()
        self._link_sends.clear()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        for task in list(self._tasks):
            task.cancel()
        if self.cache is not None:
            writes = [w for batch, _ in self._cache_inbox for w in batch]
            writes += self.forwarder.cache_writes
            self._cache_inbox.clear()
            self.forwarder.cache_writes = []
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.cache.write(writes), 1.0)  # type: ignore[arg-type]
            await self.cache.close()
        for transport in self._transports:
            transport.close()
        if self.mode != "asyncio":
            self.public.close()
            self.private.close()
        self._loop = None
        self._stopped.set()

    async def serve(self, install_signals: bool = True) -> None:
        """Run until SIGTERM/SIGINT (or ``request_stop``), then shut down gracefully."""
        self._stop_requested = asyncio.Event()
        loop = asyncio.get_running_loop()
        if install_signals:  # before start(): a SIGTERM right after "ready" is graceful too
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        await self._stop_requested.wait()
        await self.stop()

    def request_stop(self) -> None:
        event = getattr(self, "_stop_requested", None)
        if event is not None:
            event.set()

    # -- metrics -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, int]:
        """The counters, from any thread (in thread mode the forwarding threads update them:
        ``dict()`` and ``list()`` copy in one step, with no Python code that could yield)."""
        fw = self.forwarder
        values = dict(self.counters)
        for stats in list(self._stats):
            for name, count in zip(hotloop.STATS, stats, strict=True):
                values[name] += count
        send_failed = 0
        for side, loop in list(self._c_loops):
            packets, nbytes, failed = loop.counters()
            values[hotloop.STATS[side]] += packets
            values[hotloop.STATS[side + 1]] += nbytes
            send_failed += failed
        values["flows"] = len(fw.by_header)
        values["flows_created_total"] = fw.flows_created
        values["flows_expired_total"] = fw.flows_expired
        values["flows_migrated_total"] = fw.flows_migrated
        values["route_cache_errors_total"] = self.cache.errors if self.cache else 0
        for reason, count in dict(fw.drops).items():
            values["drops:" + reason] = count
        if send_failed:
            key = "drops:" + Drop.SEND_FAILED
            values[key] = values.get(key, 0) + send_failed
        if self.tcp is not None:
            values.update(self.tcp.snapshot())
        return values

    # -- housekeeping and the route cache ------------------------------------------------

    def _in_forwarder(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the flow table: under the forwarding threads' lock, if any."""
        if self._threads is not None:
            self._threads.call(fn, *args)
        else:
            fn(*args)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            self._coarse[0] = self._clock()
            self._in_forwarder(self._expire)

    def _expire(self) -> None:
        # A slice of the table per tick (a sweep of 100 000 flows takes 5 s): the forwarding
        # threads wait for this thread's GIL and lock for ~0.2 ms at most, never a full scan.
        self.forwarder.expire(self._clock(), limit=_EXPIRE_SLICE)
        self._cache_work()

    async def _poll_registry(self) -> None:
        """Merge the Redis transceiver registry into the table (read first by start())."""
        while True:
            await asyncio.sleep(self.config.registry_interval)
            await self._read_registry()

    async def _read_registry(self) -> None:
        assert self.cache is not None
        found = await self.cache.transceivers(self.config.cluster)
        if found is not None:  # flags always win
            self._in_forwarder(self._merge_registry, found, set(self.config.transceivers))

    def _merge_registry(self, found: dict[int, Address], static: set[int]) -> None:
        table = self.forwarder.transceivers
        for ident, address in found.items():
            if ident in static:
                continue
            current = table.get(ident)
            if current is None or current.address != address:
                table[ident] = Backend(address)
        for ident in [i for i in table if i not in static and i not in found]:
            del table[ident]
        self._refresh_trusted(keep=True)

    def _refresh_trusted(self, keep: bool = False) -> None:
        fw = self.forwarder
        # Replies from a transceiver that left the registry are still accepted (``keep``):
        # its flows live on until they expire.
        trusted: set[object] = set(self._trusted) if keep else set()
        for backend in [*fw.transceivers.values(), *fw.peer_relays.values()]:
            if not backend.ptr:  # never re-resolve: flows hold the pointer (flow.tx)
                self._resolve(backend)
            trusted.add(
                batchio.key_of(backend.sockaddr) if self.mode != "asyncio" else backend.address
            )
        self._trusted = trusted

    def _on_route(self, flow: Flow) -> None:
        """Thread mode: precompute what the fast path sends for this flow."""
        backend = flow.backend
        if not backend.ptr:
            self._refresh_trusted(keep=True)
            if not backend.ptr:
                self._resolve(backend)
        little = sys.byteorder == "little"
        header_int = (
            int.from_bytes(flow.header, "little") if len(flow.header) == 7 and little else 0
        )
        flow.tx = (self._link(backend.address), header_int, flow.header)
        if self._c_table is not None and flow.via is None and flow.key is not None:
            if self._c_deferred is not None:
                self._c_deferred.append(flow)
            else:
                self._c_set(flow)

    def _c_set(self, flow: Flow) -> None:
        """C mode: the C loops forward this direct flow's datagrams from now on."""
        assert self._c_table is not None and isinstance(flow.key, int | bytes)
        self._c_table.set(id(flow), batchio.sockaddr_of(flow.key), flow.header, flow.tx[0])

    def _on_forget(self, flow: Flow) -> None:
        if self._c_table is not None:
            self._c_table.forget(id(flow), flow.header)
        address = flow.client_address
        if address is not None and self._addr_flows.get(address) is flow:
            del self._addr_flows[address]
        if len(flow.header) == 7 and sys.byteorder == "little":
            key = int.from_bytes(flow.header, "little")
            if self._v4_flows.get(key) is flow:
                del self._v4_flows[key]

    def _c_last_seen(self, flow: Flow) -> float:
        """When a C loop last forwarded a datagram of ``flow`` (-inf: never)."""
        assert self._c_table is not None
        return self._c_table.last_seen(id(flow), flow.header)

    def _link(self, address: Address) -> int:
        """The connected socket towards a backend (created on first use); its fd."""
        link = self._links.get(address)
        if link is None:
            host = self.backend_address[0]
            if _family(host) != _family(address[0]):  # mixed families: any local address
                host = "::" if _family(address[0]) == socket.AF_INET6 else "0.0.0.0"
            link = bind_udp((host, 0))
            link.connect(address)
            self._links[address] = link
            self._link_sends[link.fileno()] = link.send
            link.setblocking(True)
            assert self._threads is not None
            if self._c_table is not None:
                hotloop.c_add_link(self, link)  # into the public socket's thread
            else:
                self._threads.add(link, hotloop.backend_loop(self, link, False))
        return link.fileno()

    def _refresh_trusted_if_new(self, backend: Backend) -> None:
        if not backend.ptr:
            self._refresh_trusted(keep=True)

    def _resolve(self, backend: Backend) -> None:
        raw = batchio.sockaddr(backend.address, self._private_family)
        buffer = ctypes.create_string_buffer(raw, len(raw))
        backend.sockaddr = raw
        backend.pinned = buffer
        backend.ptr = ctypes.addressof(buffer)
        backend.namelen = len(raw)

    def _cache_work(self) -> None:
        """Where the flow table lives: hand the forwarder's new route-cache work to the loop."""
        fw = self.forwarder
        if self.cache is None or not (fw.cache_writes or fw.lookups):
            return
        self._cache_inbox.append((fw.cache_writes, fw.lookups))  # type: ignore[arg-type]
        fw.cache_writes, fw.lookups = [], []
        if self._threads is None:
            self._kick_cache()
        elif not self._cache_signalled:
            # Reset by _drain_cache before it looks at the inbox, so work appended after its
            # last look always signals again.
            self._cache_signalled = True
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._kick_cache)

    def _kick_cache(self) -> None:
        if self._cache_task is None or self._cache_task.done():
            assert self._loop is not None
            self._cache_task = self._loop.create_task(self._drain_cache())

    async def _drain_cache(self) -> None:
        assert self.cache is not None
        inbox = self._cache_inbox
        while True:
            self._cache_signalled = False
            if not inbox:
                return
            writes, lookups = inbox.popleft()
            if writes:
                await self.cache.write(writes)  # type: ignore[arg-type]
            if lookups:
                results = await asyncio.gather(*(self.cache.lookup(h) for _, h in lookups))
                self._in_forwarder(self._cache_answers, lookups, results)

    def _cache_answers(self, lookups: list[tuple[object, bytes]], results: list[object]) -> None:
        fw = self.forwarder
        now = self._clock()
        # C mode: the flows these answers make reach the C table only once what was held for
        # them has gone out, so that none of their later datagrams overtakes it (until then
        # the C loops hand those up, and they wait for this lock).
        self._c_deferred = [] if self._c_table is not None else None
        try:
            for (key, _), route in zip(lookups, results, strict=True):
                if route is None:
                    fw.cache_miss(key, now)
                elif fw.cache_hit(key, route, now) is not None:  # type: ignore[arg-type]
                    self.counters["route_cache_hits_total"] += 1
            if fw.released:
                self._forward_released()
        finally:
            deferred, self._c_deferred = self._c_deferred, None
            for flow in deferred or ():
                if fw.by_header.get(flow.header) is flow:
                    self._c_set(flow)

    def _forward_released(self) -> None:
        """Forward the datagrams held while their route was looked up, in order; under the
        forwarding threads' lock, so none of the flow's later datagrams goes first."""
        fw = self.forwarder
        released, fw.released = fw.released, []
        counters = self.counters
        for flow, datagram in released:
            frame = flow.header + datagram
            if self._threads is not None:
                try:
                    self._link_sends[flow.tx[0]](memoryview(frame), batchio.MSG_DONTWAIT)
                except OSError:
                    fw.drops[Drop.SEND_FAILED] += 1
                    continue
            else:
                self._priv_transport.sendto(frame, flow.backend.address)
                self._refresh_trusted_if_new(flow.backend)
            counters["packets_from_clients_total"] += 1
            counters["bytes_from_clients_total"] += len(datagram)

    # -- asyncio mode --------------------------------------------------------------------

    def _on_public_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self._loop is not None
        now = self._loop.time()
        fw = self.forwarder
        if data[:1] in (b"\xc4", b"\xc6") and self._peer_hosts and self._is_peer(addr[0]):
            flow = fw.from_peer_relay(self._via_for(addr), data, now)
            if flow is not None:
                self._priv_transport.sendto(data, flow.backend.address)
                self._refresh_trusted_if_new(flow.backend)
            return
        flow = fw.from_client(addr, data, now)
        if flow is None:
            if fw.lookups:
                self._cache_work()
            return
        self._priv_transport.sendto(flow.header + data, flow.backend.address)
        self._refresh_trusted_if_new(flow.backend)
        self.counters["packets_from_clients_total"] += 1
        self.counters["bytes_from_clients_total"] += len(data)
        if fw.cache_writes:
            self._cache_work()

    def _on_private_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self._loop is not None
        fw = self.forwarder
        if addr[:2] not in self._trusted:
            fw.drops[Drop.UNTRUSTED_SOURCE] += 1
            return
        flow = fw.from_backend(data, self._loop.time())
        if flow is None:
            return
        if flow.via is None:
            payload = data[len(flow.header) :]
            self._pub_transport.sendto(payload, flow.key)  # type: ignore[arg-type]
            self.counters["packets_to_clients_total"] += 1
            self.counters["bytes_to_clients_total"] += len(payload)
        else:
            self._pub_transport.sendto(data, flow.via.address)

    def _is_peer(self, host: str) -> bool:
        try:
            return socket.inet_pton(_family(host), host) in self._peer_hosts
        except OSError:
            return False

    def _via_for(self, key: object) -> Backend:
        via = self._via.get(key)
        if via is None:
            if len(self._via) > 1024:
                self._via.clear()
            if isinstance(key, tuple):
                address = key
            else:
                assert isinstance(key, int | bytes)
                address = _address_of(batchio.sockaddr_of(key))
            via = self._via[key] = Backend(address[:2], chained=True)
            if self.mode != "asyncio":
                assert isinstance(key, int | bytes)
                raw = batchio.sockaddr_of(key)
                buffer = ctypes.create_string_buffer(raw, len(raw))
                via.sockaddr, via.ptr, via.namelen = raw, ctypes.addressof(buffer), len(raw)
                via.pinned = buffer
        return via

    # -- thread mode (the loops themselves: relay.hotloop) -----------------------------

    def _stats_list(self) -> list[int]:
        """A forwarding thread's own packet and byte counters (see ``hotloop.STATS``)."""
        stats = [0] * len(hotloop.STATS)
        self._stats.append(stats)
        return stats

    def _from_public(self, key: int | bytes, datagram: bytes, now: float) -> Flow | None:
        fw = self.forwarder
        if (
            self._peer_hosts
            and datagram[:1] in (b"\xc4", b"\xc6")
            and key not in fw.flows
            and batchio.sockaddr_host(key) in self._peer_hosts
        ):
            flow = fw.from_peer_relay(self._via_for(key), datagram, now)
        else:
            flow = fw.from_client(key, datagram, now)
        if flow is not None:
            self._refresh_trusted_if_new(flow.backend)
        return flow

    def _from_link(self, frame: bytes, now: float) -> Flow | None:
        flow = self.forwarder.from_backend(frame, now)
        if flow is None:
            return None
        if flow.via is None and not flow.client_ptr:
            _pin_client(flow)
        if len(flow.header) == 7 and sys.byteorder == "little":
            self._v4_flows[int.from_bytes(flow.header, "little")] = flow
        return flow


def _pin_client(flow: Flow) -> None:
    assert isinstance(flow.key, int | bytes)
    raw = batchio.sockaddr_of(flow.key)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    flow.client_sockaddr = buffer
    flow.client_ptr = ctypes.addressof(buffer)


def _address_of(name: bytes) -> Address:
    """``(host, port)`` of a raw sockaddr (IPv4 or IPv6)."""
    port = int.from_bytes(name[2:4], "big")
    if len(name) == 16 or name[:2] == batchio.sockaddr(("0.0.0.0", 0), socket.AF_INET)[:2]:
        return socket.inet_ntop(socket.AF_INET, name[4:8]), port
    return socket.inet_ntop(socket.AF_INET6, name[8:24]), port


def _backend_host(config: RelayConfig) -> str:
    hosts = [h for h, _ in [*config.transceivers.values(), *config.peer_relays.values()]]
    if any(":" in h for h in hosts):
        return "::"
    if hosts and all(h.startswith("127.") for h in hosts):
        return "127.0.0.1"
    return "0.0.0.0"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, handler: Callable[[bytes, tuple[str, int]], None]) -> None:
        self._handler = handler

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._handler(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (a transceiver restarting, a client gone) are normal; keep going.
        log.debug("socket error: %s", exc)
