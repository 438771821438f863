"""``pywebrtc-signaling``: the transceiver service (HTTP signaling + one UDP media socket).

Every flag has an environment variable ``PYWEBRTC_SIGNALING_<NAME>`` (shown in ``--help``);
flags win over the environment. SIGTERM (or ^C) drains: readiness goes off, new offers are
redirected to another transceiver of the cluster (``--redis``) or get 503, sessions continue
until they end or ``--drain-timeout`` passes; then the process leaves the registry and exits 0.
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
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from yarl import URL

from pywebrtc.transmit import Address
from relay.cli import parse_address
from relay.routing import RouteCodec, RoutingError, parse_keys
from signaling.app import AppError, Application, load_application
from signaling.auth import Auth, fleet_secrets
from signaling.http import Service, build_app, ice_server_link
from signaling.metrics import Metrics
from signaling.ratelimit import RateLimiter
from signaling.registry import Load, Registry
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
        "SIGTERM drains: readiness off, new offers redirected (307, with --redis) or 503, "
        "live sessions continue until they end or --drain-timeout, the registry entries are "
        "deleted, exit 0.",
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
        "--relay-tcp",
        action="append",
        type=parse_address,
        metavar="HOST:PORT",
        help="ICE-TCP address of a pywebrtc-relay (its --listen-tcp, e.g. on port 443); every "
        "answer gets it as an RFC 6544 'tcptype passive' candidate beside the UDP ones, for "
        f"clients whose network drops UDP (needs --keys) [{ENV_PREFIX}RELAY_TCP]",
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
        metavar="echo|agent|MODULE:CALLABLE",
        help="the application each session is handed to: echo (audio tracks and data-channel "
        "messages sent back), agent (the voice agent, OpenAI Realtime events on the "
        "oai-events channel; docs/agent.md) or MODULE:CALLABLE, an async callable taking a "
        f"signaling.app.Session (see docs/signaling.md) [{ENV_PREFIX}APP]",
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
        help="sessions at once; beyond it offers are redirected (307, with --redis) or get "
        "503 + Retry-After, and /readyz is 503; also the capacity published in the registry "
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
        help="Redis of the transceiver registry: every --heartbeat seconds, with a TTL of "
        "three, write pywebrtc:transceiver:<cluster>:<id> = the --udp HOST:PORT (what "
        "pywebrtc-relay --redis routes to) and pywebrtc:load:<cluster>:<id> = JSON sessions, "
        "capacity, draining, HTTP URL; when full or draining, new offers get 307 to the least "
        "loaded transceiver of the cluster with room. Both deleted on clean exit. Redis down: "
        f"a warning, serving goes on [{ENV_PREFIX}REDIS]",
    )
    p.add_argument(
        "--heartbeat",
        type=float,
        metavar="S",
        default=float(_env("HEARTBEAT", "2") or 2),
        help=f"with --redis: seconds between registry writes (TTL 3x) [{ENV_PREFIX}HEARTBEAT]",
    )
    p.add_argument(
        "--advertise-http",
        metavar="URL",
        default=_env("ADVERTISE_HTTP"),
        help="with --redis: the base URL other transceivers redirect offers to (e.g. "
        "http://10.0.0.5:8080), when the --http address is not reachable as it is (a wildcard "
        "or a private address behind a proxy); its host also names a wildcard --udp in the "
        f"registry [{ENV_PREFIX}ADVERTISE_HTTP]",
    )
    p.add_argument(
        "--rebalance",
        type=float,
        metavar="F",
        default=float(_env("REBALANCE", "0") or 0),
        help="with --redis: placement by load while there is room too: redirect (307) a new "
        "offer when the least loaded transceiver of the cluster has a utilization "
        "(sessions/capacity) lower than this one's by more than F (0..1); 0 = only when full "
        f"or draining [{ENV_PREFIX}REBALANCE]",
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        metavar="N",
        default=float(_env("RATE_LIMIT", "0") or 0),
        help="new sessions (POST /whip, /v1/realtime/calls, /offer) per second per client IP "
        "address, beyond which 429 + Retry-After; 0 = no limit. Behind an HTTP proxy every "
        f"client has the proxy's address [{ENV_PREFIX}RATE_LIMIT]",
    )
    p.add_argument(
        "--rate-burst",
        type=float,
        metavar="N",
        default=float(_env("RATE_BURST", "0") or 0),
        help="with --rate-limit: requests a client may make at once before the rate applies; "
        f"0 = max(1, 2 x --rate-limit) [{ENV_PREFIX}RATE_BURST]",
    )
    p.add_argument(
        "--engines",
        metavar="NAMES",
        default=_env("ENGINES", "") or "",
        help="with --app agent: engines to prefer, comma-separated (silero, energy, whisper, "
        "pocketsphinx, piper, espeak); the best installed is used for the rest "
        f"[{ENV_PREFIX}ENGINES]",
    )
    p.add_argument(
        "--llm-url",
        metavar="URL",
        default=_env("LLM_URL"),
        help="with --app agent: answer with an OpenAI-compatible chat-completions endpoint "
        "(base URL, e.g. http://127.0.0.1:8000/v1; key from PYWEBRTC_LLM_API_KEY or "
        f"OPENAI_API_KEY) instead of the offline brain [{ENV_PREFIX}LLM_URL]",
    )
    p.add_argument(
        "--llm-model",
        metavar="NAME",
        default=_env("LLM_MODEL"),
        help=f"with --llm-url: the model name [{ENV_PREFIX}LLM_MODEL]",
    )
    p.add_argument(
        "--web",
        metavar="DIR",
        type=Path,
        default=_env("WEB"),
        help="serve a web page: DIR/index.html at / and DIR's files under /web/ (the demo "
        f"uses it for its page) [{ENV_PREFIX}WEB]",
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
    try:
        relays_tcp = args.relay_tcp or [parse_address(i) for i in _env_list("RELAY_TCP")]
    except argparse.ArgumentTypeError as error:
        raise fail(f"{ENV_PREFIX}RELAY_TCP: {error}") from None
    tokens = args.token or _env_list("TOKENS")
    codec = None
    signing: list[bytes] = []
    if args.keys:
        try:
            keys, active = parse_keys(Path(args.keys).read_text())
            codec = RouteCodec(keys, active)
            # Ephemeral keys are signed with secrets from the fleet keys: any transceiver of
            # the fleet accepts them (the active key's signs; all of them verify).
            signing = fleet_secrets([keys[active], *(k for i, k in keys.items() if i != active)])
        except (RoutingError, OSError) as error:
            raise fail(f"--keys: {error}") from None
    elif relays or relays_tcp:
        flag = "--relay" if relays else "--relay-tcp"
        raise fail(f"{flag} needs --keys (the relay routes by the ufrag's encrypted route)")
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
    for host, _ in [*advertised, *relays_tcp]:
        if _unspecified(host):
            raise fail(f"cannot advertise the wildcard address {host}")
    try:
        engines = [name.strip() for name in args.engines.split(",") if name.strip()]
        app = load_application(args.app, engines, args.llm_url, args.llm_model)
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
        relayed=bool(relays or relays_tcp),
        relays_tcp=tuple(relays_tcp),
    )
    return config, app, Auth(tokens, signing_secrets=signing)


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """The flags about the fleet around this transceiver: registry and rate limit."""

    redis: str | None = None
    heartbeat: float = 2.0
    advertise_http: str | None = None  # None: derived from --http unless that is a wildcard
    rate_limit: float = 0.0
    rate_burst: float = 0.0
    rebalance: float = 0.0

    def limiter(self) -> RateLimiter | None:
        if self.rate_limit <= 0:
            return None
        return RateLimiter(self.rate_limit, self.rate_burst or max(1.0, 2 * self.rate_limit))


def fleet_from_args(args: argparse.Namespace) -> FleetConfig:
    def fail(message: str) -> SystemExit:
        return SystemExit(f"pywebrtc-signaling: {message}")

    if args.heartbeat <= 0:
        raise fail("--heartbeat must be positive")
    if args.rate_limit < 0 or args.rate_burst < 0:
        raise fail("--rate-limit and --rate-burst must not be negative")
    advertise = args.advertise_http
    if advertise is not None:
        url = URL(advertise)
        if url.scheme not in ("http", "https") or not url.host:
            raise fail(f"--advertise-http needs an http:// or https:// URL, got {advertise!r}")
        if _unspecified(url.host):
            raise fail("--advertise-http cannot name a wildcard address")
    if args.redis and _unspecified(args.udp[0]) and advertise is None:
        raise fail(
            "--redis with a wildcard --udp needs --advertise-http (its host names the UDP "
            "socket in the registry)"
        )
    if not 0 <= args.rebalance <= 1:
        raise fail("--rebalance must be 0..1")
    return FleetConfig(
        args.redis, args.heartbeat, advertise, args.rate_limit, args.rate_burst, args.rebalance
    )


def http_url(http: Address, fleet: FleetConfig) -> str | None:
    """The base URL other transceivers redirect to: --advertise-http, or --http unless it is a
    wildcard address."""
    if fleet.advertise_http is not None:
        return fleet.advertise_http.rstrip("/")
    host, port = http
    if _unspecified(host):
        return None
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
    web_root: Path | None = None,
    fleet: FleetConfig = FleetConfig(),
) -> None:
    loop = asyncio.get_running_loop()
    metrics = Metrics()
    manager = SessionManager(config, app, metrics)
    await manager.start()
    registry = None
    if fleet.redis:
        base = http_url(http, fleet)
        if base is None:
            log.warning(
                "--http binds a wildcard address and no --advertise-http is given: other "
                "transceivers cannot redirect offers here"
            )
        udp_host, udp_port = manager.udp_address
        if _unspecified(udp_host):
            udp_host = URL(base or "").host or udp_host

        def load() -> Load:
            return Load(len(manager), config.max_sessions, manager.draining, base)

        registry = Registry(
            fleet.redis, config.cluster, config.transceiver_id, (udp_host, udp_port), load,
            fleet.heartbeat, fleet.rebalance,
        )  # fmt: skip
        await registry.start()
        metrics.value(
            "pywebrtc_registry_registered",
            "1 while the last heartbeat reached the transceiver registry (--redis)",
            lambda: float(registry is not None and registry.registered),
        )
    service = Service(
        manager, auth, metrics, links, web_root, registry=registry, limiter=fleet.limiter()
    )
    runner = web.AppRunner(build_app(service), access_log=None, shutdown_timeout=2.0)
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
    manager.draining = True
    if registry is not None:
        registry.poke()  # others stop redirecting here at once
    await manager.drain()
    if registry is not None:
        await registry.close()
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
    if args.web is not None and not (args.web / "index.html").is_file():
        raise SystemExit(f"pywebrtc-signaling: --web {args.web}: no index.html there")
    fleet = fleet_from_args(args)
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(config, app, auth, args.http, links, args.web, fleet))
    except OSError as error:
        raise SystemExit(f"pywebrtc-signaling: {error}") from None
    finally:
        loop.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
