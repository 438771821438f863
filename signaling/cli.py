"""``pywebrtc-signaling``: the transceiver service (HTTP signaling + one UDP media socket).

Every flag has an environment variable ``PYWEBRTC_SIGNALING_<NAME>`` (shown in ``--help``);
flags win over the environment. SIGTERM (or ^C) drains: readiness goes off, new offers get 503,
sessions continue until they end or ``--drain-timeout`` passes; then the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from pywebrtc.transmit import Address
from relay.cli import parse_address
from relay.routing import RoutingError, load_codec
from signaling.app import AppError, Application, load_application
from signaling.auth import Auth
from signaling.http import Service, build_app, ice_server_link
from signaling.metrics import Metrics
from signaling.sessions import ServiceConfig, SessionManager

log = logging.getLogger("signaling")

ENV_PREFIX = "PYWEBRTC_SIGNALING_"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + name, default)


def _env_list(name: str) -> list[str]:
    return (_env(name) or "").replace(",", " ").split()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pywebrtc-signaling",
        description=(
            "The pywebrtc transceiver: takes SDP offers over HTTP (WHIP at POST /whip, "
            "OpenAI Realtime-compatible POST /v1/realtime/calls, JSON POST /offer), runs every "
            "session as an ICE-lite peer on one UDP socket (framed datagrams from "
            "pywebrtc-relay and plain ones from clients) and hands each to an application. "
            "GET /livez, /readyz, /metrics for operations."
        ),
        epilog=f"Environment variables ({ENV_PREFIX}<NAME>) give defaults for every flag; "
        "lists (RELAYS, TOKENS) are comma- or space-separated, ICE_SERVERS space-separated. "
        "SIGTERM drains: readiness off, "
        "new offers 503, live sessions continue until they end or --drain-timeout, exit 0.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--http",
        type=parse_address,
        metavar="HOST:PORT",
        default=_env("HTTP", "127.0.0.1:8080"),
        help=f"HTTP listen address (signaling, health, metrics) [{ENV_PREFIX}HTTP]",
    )
    p.add_argument(
        "--udp",
        type=parse_address,
        metavar="HOST:PORT",
        default=_env("UDP", "127.0.0.1:3479"),
        help="the one UDP socket for every session's media (ICE, DTLS, SRTP, SCTP), plain "
        "from clients and framed from relays; in direct mode its address is the answer's "
        f"candidate unless --public is given [{ENV_PREFIX}UDP]",
    )
    p.add_argument(
        "--relay",
        action="append",
        type=parse_address,
        metavar="HOST:PORT",
        help="public address of a pywebrtc-relay in front of this transceiver; repeat for "
        "several. When given, these are the answer's candidates (needs --keys, so that ufrags "
        f"carry this transceiver's route) [{ENV_PREFIX}RELAYS]",
    )
    p.add_argument(
        "--public",
        type=parse_address,
        metavar="HOST:PORT",
        default=_env("PUBLIC"),
        help="direct mode behind NAT/port mapping: the address clients reach the --udp socket "
        f"at, advertised as the answer's candidate [{ENV_PREFIX}PUBLIC]",
    )
    p.add_argument(
        "--keys",
        metavar="FILE",
        default=_env("KEYS"),
        help="fleet keys file shared with pywebrtc-relay ('ID HEX' lines, first line encodes); "
        "with it every session's ICE ufrag encodes --cluster and --id (relay.routing."
        f"RouteCodec); without it ufrags are random [{ENV_PREFIX}KEYS]",
    )
    p.add_argument(
        "--cluster",
        type=int,
        default=int(_env("CLUSTER", "0") or 0),
        help=f"cluster id encoded in ufrags (as the relay's --cluster) [{ENV_PREFIX}CLUSTER]",
    )
    p.add_argument(
        "--id",
        type=int,
        default=int(_env("ID", "0") or 0),
        help="this transceiver's id encoded in ufrags (the relay's --transceiver ID=...) "
        f"[{ENV_PREFIX}ID]",
    )
    p.add_argument(
        "--app",
        default=_env("APP", "echo"),
        metavar="echo|MODULE:CALLABLE",
        help="the application each session is handed to: echo (audio tracks and data-channel "
        "messages sent back) or MODULE:CALLABLE, an async callable taking a "
        "signaling.app.Session (see docs/signaling.md); 'agent' is not built yet "
        f"[{ENV_PREFIX}APP]",
    )
    p.add_argument(
        "--token",
        action="append",
        metavar="TOKEN",
        help="an accepted Bearer token; repeat for several; none = no authentication. "
        f"Ephemeral ek_ keys minted with a token are accepted too [{ENV_PREFIX}TOKENS]",
    )
    p.add_argument(
        "--ice-server",
        action="append",
        metavar="URL[|USER|CREDENTIAL]",
        help='a STUN/TURN server for WHIP clients, sent as a Link: rel="ice-server" header '
        "(RFC 9725 §4.4) on POST /whip and OPTIONS /whip; repeat for several "
        f"[{ENV_PREFIX}ICE_SERVERS]",
    )
    p.add_argument(
        "--max-sessions",
        type=int,
        default=int(_env("MAX_SESSIONS", "1000") or 1000),
        help="sessions at once; beyond it offers get 503 + Retry-After and /readyz is 503 "
        f"[{ENV_PREFIX}MAX_SESSIONS]",
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=float(_env("DRAIN_TIMEOUT", "30") or 30),
        help="after SIGTERM, seconds to let live sessions finish before closing them "
        f"[{ENV_PREFIX}DRAIN_TIMEOUT]",
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        default=_env("REDIS"),
        help="NOT IMPLEMENTED YET (accepted and ignored with a warning): registering in the "
        f"relay's transceiver registry and publishing load [{ENV_PREFIX}REDIS]",
    )
    p.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "INFO"),
        help=f"logging level [{ENV_PREFIX}LOG_LEVEL]",
    )
    return p


def ice_links(args: argparse.Namespace) -> tuple[str, ...]:
    """The ``Link`` header values of ``--ice-server`` (or ``PYWEBRTC_SIGNALING_ICE_SERVERS``)."""
    try:
        return tuple(
            ice_server_link(s) for s in args.ice_server or (_env("ICE_SERVERS") or "").split()
        )
    except ValueError as error:
        raise SystemExit(f"pywebrtc-signaling: --ice-server: {error}") from None


def config_from_args(args: argparse.Namespace) -> tuple[ServiceConfig, Application, Auth]:
    def fail(message: str) -> SystemExit:
        return SystemExit(f"pywebrtc-signaling: {message}")

    try:
        relays = args.relay or [parse_address(item) for item in _env_list("RELAYS")]
    except argparse.ArgumentTypeError as error:
        raise fail(f"{ENV_PREFIX}RELAYS: {error}") from None
    tokens = args.token or _env_list("TOKENS")
    codec = None
    if args.keys:
        try:
            codec = load_codec(args.keys)
        except (RoutingError, OSError) as error:
            raise fail(f"--keys: {error}") from None
    elif relays:
        raise fail("--relay needs --keys (the relay routes by the ufrag's encrypted route)")
    if not 0 <= args.cluster <= 0xFFFF:
        raise fail("--cluster must be 0..65535")
    if not 0 <= args.id <= 0xFFFF_FFFF:
        raise fail("--id must be 0..4294967295")
    if args.max_sessions < 1:
        raise fail("--max-sessions must be at least 1")
    if args.drain_timeout < 0:
        raise fail("--drain-timeout must not be negative")
    advertised: list[Address] = list(relays) or ([args.public] if args.public else [])
    if not advertised and _unspecified(args.udp[0]):
        raise fail("--udp binds a wildcard address: give --public (or --relay) to advertise")
    for host, _ in advertised:
        if _unspecified(host):
            raise fail(f"cannot advertise the wildcard address {host}")
    try:
        app = load_application(args.app)
    except AppError as error:
        raise fail(str(error)) from None
    config = ServiceConfig(
        udp=args.udp,
        advertised=tuple(advertised),
        codec=codec,
        cluster=args.cluster,
        transceiver_id=args.id,
        max_sessions=args.max_sessions,
        drain_timeout=args.drain_timeout,
        relayed=bool(relays),
    )
    return config, app, Auth(tokens)


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False  # a name: resolved by whoever uses it


async def serve(
    config: ServiceConfig,
    app: Application,
    auth: Auth,
    http: Address,
    links: tuple[str, ...] = (),
) -> None:
    loop = asyncio.get_running_loop()
    metrics = Metrics()
    manager = SessionManager(config, app, metrics)
    await manager.start()
    runner = web.AppRunner(
        build_app(Service(manager, auth, metrics, links)), access_log=None, shutdown_timeout=2.0
    )
    await runner.setup()
    site = web.TCPSite(runner, http[0], http[1])
    await site.start()
    log.info(
        "serving HTTP on %s:%d, UDP on %s:%d, advertising %s",
        *http, *manager.udp_address, manager.advertised,
    )  # fmt: skip
    _tune_gc()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("signal received: draining")
    await manager.drain()
    await runner.cleanup()
    log.info("drained; exiting")


def _tune_gc() -> None:
    """What start-up made (modules, aiohttp's app, the certificate) lives as long as the
    process: frozen out of the cyclic collector's reach, so that the full collections the
    sessions' garbage triggers do not walk it again each time (GC time per 1,000 echo setups
    194-202 -> 132-140 ms, ``gc.callbacks`` in the server; a higher young-generation
    threshold saved little more and kept more garbage alive)."""
    gc.freeze()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(process)d %(name)s %(message)s"
    )
    config, app, auth = config_from_args(args)
    links = ice_links(args)
    if args.redis:
        log.warning("--redis is not implemented yet: ignored (no transceiver registry)")
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(config, app, auth, args.http, links))
    except OSError as error:
        raise SystemExit(f"pywebrtc-signaling: {error}") from None
    finally:
        loop.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
