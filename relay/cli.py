"""``pywebrtc-relay``: the ufrag-routed UDP relay in front of transceivers.

Every flag has an environment variable (shown in ``--help``); flags win over the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence

from relay import metrics
from relay.flows import Address
from relay.forwarder import MAX_ADDRESSES_PER_UFRAG
from relay.options import EnvArgumentParser, env_list
from relay.routing import PlaintextRouteCodec, RoutingError, UfragCodec, load_codec
from relay.server import RelayConfig, RelayWorker

log = logging.getLogger("relay")

ENV_PREFIX = "PYWEBRTC_RELAY_"


def parse_address(text: str) -> Address:
    """``HOST:PORT``, ``[V6]:PORT`` or ``V6:PORT`` (split at the last colon)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def parse_mapping(items: Sequence[str], what: str) -> dict[int, Address]:
    """``ID=HOST:PORT`` items (also comma/space separated inside one item)."""
    out: dict[int, Address] = {}
    for item in items:
        for part in item.replace(",", " ").split():
            ident, sep, address = part.partition("=")
            if not sep or not ident.isdigit():
                raise argparse.ArgumentTypeError(f"{what}: expected ID=HOST:PORT, got {part!r}")
            out[int(ident)] = parse_address(address)
    return out


def build_parser() -> EnvArgumentParser:
    p = EnvArgumentParser(
        ENV_PREFIX,
        prog="pywebrtc-relay",
        description=(
            "Stateless UDP relay for pywebrtc transceivers. A client address gets a flow when "
            "it sends a STUN Binding Request whose ufrag (the USERNAME part before ':') "
            "decodes to a route with one of the fleet keys; the flow's datagrams are then "
            "forwarded opaque, framed with the client address, to that transceiver, and "
            "replies go back to the client. Everything else is dropped and counted."
        ),
        epilog=f"Environment variables ({ENV_PREFIX}<NAME>) give defaults for every flag; "
        "lists (TRANSCEIVERS, PEER_RELAYS) are comma- or space-separated.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.flag(
        "--listen-tcp",
        env="LISTEN_TCP",
        type=parse_address,
        metavar="HOST:PORT",
        help="also accept ICE-TCP clients (RFC 6544, RFC 4571 framing; e.g. 0.0.0.0:443): a "
        "connection is routed by the ufrag of its first STUN Binding Request, like a UDP flow",
    )
    p.flag(
        "--listen",
        env="LISTEN",
        default="0.0.0.0:3478",
        type=parse_address,
        metavar="HOST:PORT",
        help="public UDP address clients reach (the only ICE candidate of every session)",
    )
    p.flag(
        "--keys",
        env="KEYS",
        metavar="FILE",
        help="fleet keys file: one 'ID HEX' line per 16-byte AES key, ID 0..63; the first "
        "line is the active key (encodes), all of them decode",
    )
    p.flag(
        "--plaintext-ufrags",
        env="PLAINTEXT_UFRAGS",
        action="store_true",
        help="route by readable, forgeable debug ufrags instead of --keys (debugging only)",
    )
    p.flag(
        "--transceiver",
        env="TRANSCEIVERS",
        action="append",
        metavar="ID=HOST:PORT",
        help="a transceiver of this cluster and its framed UDP address; repeat for each",
    )
    p.flag(
        "--cluster",
        env="CLUSTER",
        default=0,
        type=int,
        help="this relay's cluster id; routes for other clusters go to --peer-relay",
    )
    p.flag(
        "--peer-relay",
        env="PEER_RELAYS",
        action="append",
        metavar="CLUSTER=HOST:PORT",
        help="chaining (Global Relay): the public address of another cluster's relay; routes "
        "for that cluster are forwarded there, framed with the client address, and framed "
        "datagrams from that relay's host are accepted as chained clients",
    )
    p.flag(
        "--redis",
        env="REDIS",
        metavar="URL",
        help="Redis route cache (client address -> route, TTL) so a restarted relay forwards "
        "DTLS/SRTP before the next STUN; unreachable Redis means ufrag-only routing and a "
        "warning",
    )
    p.flag(
        "--registry-interval",
        env="REGISTRY_INTERVAL",
        default=2.0,
        type=float,
        help="with --redis: seconds between reads of the transceiver registry (keys "
        "pywebrtc:transceiver:<cluster>:<id> = host:port, heartbeated with a TTL); 0 turns it "
        "off; --transceiver flags win over the registry",
    )
    p.flag(
        "--workers",
        env="WORKERS",
        default=1,
        type=int,
        help="worker processes sharing --listen through SO_REUSEPORT",
    )
    p.flag(
        "--metrics",
        env="METRICS",
        type=parse_address,
        metavar="HOST:PORT",
        help="serve Prometheus text counters (flows, packets, bytes, drops by reason) over "
        "HTTP here",
    )
    p.flag(
        "--io",
        env="IO",
        default="auto",
        choices=["auto", "c", "thread", "asyncio"],
        help="socket layer: c = one thread polling the public socket and every backend "
        "link, known flows forwarded both ways by the C extension relay._fastloop (built at "
        "install; Linux); thread = a thread per socket blocked in its receive, in pure "
        "Python, recvmmsg/sendmmsg via ctypes under load; asyncio = "
        "datagram transports (uvloop if installed); auto picks c if it was built, else thread "
        "where it works",
    )
    p.flag(
        "--max-flows",
        env="MAX_FLOWS",
        default=100000,
        type=int,
        help="flow table bound per worker; new flows beyond it are dropped",
    )
    p.flag(
        "--max-addresses-per-ufrag",
        env="MAX_ADDRESSES_PER_UFRAG",
        default=MAX_ADDRESSES_PER_UFRAG,
        type=int,
        help="client addresses bound to one ufrag (one session) at once; a Binding Request "
        'that would bind one more is dropped (drops_total{reason="session_full"}), so one '
        "valid ufrag sent from many spoofed addresses cannot fill the flow table",
    )
    p.flag(
        "--idle-timeout",
        env="IDLE_TIMEOUT",
        default=30.0,
        type=float,
        help="seconds without traffic after which a flow is forgotten",
    )
    p.flag(
        "--cache-ttl",
        env="CACHE_TTL",
        default=30.0,
        type=float,
        help="route cache entry lifetime in seconds",
    )
    p.flag(
        "--backend-bind",
        env="BACKEND_BIND",
        metavar="HOST",
        help="local address of the per-worker socket that talks to transceivers (default: "
        "chosen from their addresses)",
    )
    p.flag(
        "--log-level",
        env="LOG_LEVEL",
        default="INFO",
        help="logging level",
    )
    return p


def config_from_args(args: argparse.Namespace) -> RelayConfig:
    codec: UfragCodec
    if args.plaintext_ufrags:
        codec = PlaintextRouteCodec()
    elif args.keys:
        codec = load_codec(args.keys)
    else:
        raise SystemExit("pywebrtc-relay: --keys (or --plaintext-ufrags) is required")
    # Repeated flags replace the environment's list (rather than add to it).
    transceiver_items = args.transceiver or env_list(ENV_PREFIX, "TRANSCEIVERS")
    peer_items = args.peer_relay or env_list(ENV_PREFIX, "PEER_RELAYS")
    try:
        transceivers = parse_mapping(transceiver_items, "--transceiver")
        peers = parse_mapping(peer_items, "--peer-relay")
    except argparse.ArgumentTypeError as error:
        raise SystemExit(f"pywebrtc-relay: {error}") from None
    if not transceivers and not peers and not (args.redis and args.registry_interval > 0):
        raise SystemExit(
            "pywebrtc-relay: give at least one --transceiver ID=HOST:PORT (or --redis with "
            "the transceiver registry)"
        )
    return RelayConfig(
        listen=args.listen,
        codec=codec,
        transceivers=transceivers,
        cluster=args.cluster,
        peer_relays=peers,
        redis_url=args.redis,
        io=args.io,
        max_flows=args.max_flows,
        max_addresses_per_ufrag=args.max_addresses_per_ufrag,
        idle_timeout=args.idle_timeout,
        cache_ttl=args.cache_ttl,
        backend_bind=args.backend_bind,
        reuse_port=args.workers > 1,
        registry_interval=args.registry_interval,
        listen_tcp=args.listen_tcp,
    )


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


async def _run_single(config: RelayConfig, metrics_at: Address | None) -> None:
    worker = RelayWorker(config)
    server = await metrics.serve(*metrics_at, worker.snapshot) if metrics_at else None
    try:
        await worker.serve()
    finally:
        if server is not None:
            server.close()


def _worker_main(config: RelayConfig, index: int, shared: metrics.SharedCounters) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns ^C into SIGTERM

    async def run() -> None:
        worker = RelayWorker(config)

        async def publish() -> None:
            while True:
                shared.publish(index, worker.snapshot())
                await asyncio.sleep(1.0)

        task = asyncio.get_running_loop().create_task(publish())
        try:
            await worker.serve()
        finally:
            task.cancel()
            shared.publish(index, worker.snapshot())

    loop = _new_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()


async def _supervise(
    processes: Sequence[multiprocessing.process.BaseProcess],
    shared: metrics.SharedCounters,
    metrics_at: Address | None,
) -> None:
    server = await metrics.serve(*metrics_at, shared.total) if metrics_at else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set() and all(p.is_alive() for p in processes):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    for p in processes:
        if p.is_alive() and p.pid is not None:
            os.kill(p.pid, signal.SIGTERM)
    for p in processes:
        await loop.run_in_executor(None, p.join, 5.0)
        if p.is_alive():
            p.kill()
    if server is not None:
        server.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(process)d %(name)s %(message)s"
    )
    try:
        config = config_from_args(args)
    except (RoutingError, OSError) as error:
        raise SystemExit(f"pywebrtc-relay: {error}") from None
    if args.workers <= 1:
        loop = _new_loop()
        try:
            loop.run_until_complete(_run_single(config, args.metrics))
        finally:
            loop.close()
        return
    context = multiprocessing.get_context("fork")
    shared = metrics.SharedCounters(args.workers)
    processes = [
        context.Process(target=_worker_main, args=(config, i, shared), name=f"relay-worker-{i}")
        for i in range(args.workers)
    ]
    for p in processes:
        p.start()
    loop = _new_loop()
    try:
        loop.run_until_complete(_supervise(processes, shared, args.metrics))
    finally:
        loop.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
