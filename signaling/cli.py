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
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from yarl import URL

from pywebrtc.transmit import Address
from relay.cli import parse_address
from relay.options import EnvArgumentParser, env_list, env_value
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


def build_parser() -> EnvArgumentParser:
    p = EnvArgumentParser(
        ENV_PREFIX,
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
    p.flag(
        "--http",
        env="HTTP",
        default="127.0.0.1:8080",
        type=parse_address,
        metavar="HOST:PORT",
        help="HTTP listen address (signaling, health, metrics)",
    )
    p.flag(
        "--udp",
        env="UDP",
        default="127.0.0.1:3479",
        type=parse_address,
        metavar="HOST:PORT",
        help="the one UDP socket for every session's media (ICE, DTLS, SRTP, SCTP), plain "
        "from clients and framed from relays; in direct mode its address is the answer's "
        "candidate unless --public is given",
    )
    p.flag(
        "--relay",
        env="RELAYS",
        action="append",
        type=parse_address,
        metavar="HOST:PORT",
        help="public address of a pywebrtc-relay in front of this transceiver; repeat for "
        "several. When given, these are the answer's candidates (needs --keys, so that ufrags "
        "carry this transceiver's route)",
    )
    p.flag(
        "--relay-tcp",
        env="RELAY_TCP",
        action="append",
        type=parse_address,
        metavar="HOST:PORT",
        help="ICE-TCP address of a pywebrtc-relay (its --listen-tcp, e.g. on port 443); every "
        "answer gets it as an RFC 6544 'tcptype passive' candidate beside the UDP ones, for "
        "clients whose network drops UDP (needs --keys)",
    )
    p.flag(
        "--public",
        env="PUBLIC",
        type=parse_address,
        metavar="HOST:PORT",
        help="direct mode behind NAT/port mapping: the address clients reach the --udp socket "
        "at, advertised as the answer's candidate",
    )
    p.flag(
        "--keys",
        env="KEYS",
        metavar="FILE",
        help="fleet keys file shared with pywebrtc-relay ('ID HEX' lines, first line encodes); "
        "with it every session's ICE ufrag encodes --cluster and --id (relay.routing."
        "RouteCodec); without it ufrags are random",
    )
    p.flag(
        "--cluster",
        env="CLUSTER",
        default=0,
        type=int,
        help="cluster id encoded in ufrags (as the relay's --cluster)",
    )
    p.flag(
        "--id",
        env="ID",
        default=0,
        type=int,
        help="this transceiver's id encoded in ufrags (the relay's --transceiver ID=...)",
    )
    p.flag(
        "--app",
        env="APP",
        default="echo",
        metavar="echo|agent|MODULE:CALLABLE",
        help="the application each session is handed to: echo (audio tracks and data-channel "
        "messages sent back), agent (the voice agent, OpenAI Realtime events on the "
        "oai-events channel; docs/agent.md) or MODULE:CALLABLE, an async callable taking a "
        "signaling.app.Session (see docs/signaling.md)",
    )
    p.flag(
        "--token",
        env="TOKENS",
        action="append",
        metavar="TOKEN",
        help="an accepted Bearer token; repeat for several; none = no authentication. "
        "Ephemeral ek_ keys minted with a token are accepted too",
    )
    p.flag(
        "--ice-server",
        env="ICE_SERVERS",
        action="append",
        metavar="URL[|USER|CREDENTIAL]",
        help='a STUN/TURN server for WHIP clients, sent as a Link: rel="ice-server" header '
        "(RFC 9725 §4.4) on POST /whip and OPTIONS /whip; repeat for several",
    )
    p.flag(
        "--max-sessions",
        env="MAX_SESSIONS",
        default=1000,
        type=int,
        help="sessions at once; beyond it offers are redirected (307, with --redis) or get "
        "503 + Retry-After, and /readyz is 503; also the capacity published in the registry",
    )
    p.flag(
        "--dtls-role",
        env="DTLS_ROLE",
        default="client",
        choices=("client", "server"),
        help="the DTLS role this answerer takes when the offer leaves it the choice "
        "(a=setup:actpass, as browsers offer): client answers a=setup:active (JSEP's "
        "preference), server answers a=setup:passive, which costs this process less CPU per "
        "session setup (no ML-KEM key generation) but completes its side of the handshake "
        "one round trip later",
    )
    p.flag(
        "--drain-timeout",
        env="DRAIN_TIMEOUT",
        default=30.0,
        type=float,
        help="after SIGTERM, seconds to let live sessions finish before closing them",
    )
    p.flag(
        "--redis",
        env="REDIS",
        metavar="URL",
        help="Redis of the transceiver registry: every --heartbeat seconds, with a TTL of "
        "three, write pywebrtc:transceiver:<cluster>:<id> = the --udp HOST:PORT (what "
        "pywebrtc-relay --redis routes to) and pywebrtc:load:<cluster>:<id> = JSON sessions, "
        "capacity, draining, HTTP URL; when full or draining, new offers get 307 to the least "
        "loaded transceiver of the cluster with room. Both deleted on clean exit. Redis down: "
        "a warning, serving goes on",
    )
    p.flag(
        "--heartbeat",
        env="HEARTBEAT",
        default=2.0,
        type=float,
        metavar="S",
        help="with --redis: seconds between registry writes (TTL 3x)",
    )
    p.flag(
        "--advertise-http",
        env="ADVERTISE_HTTP",
        metavar="URL",
        help="with --redis: the base URL other transceivers redirect offers to (e.g. "
        "http://10.0.0.5:8080), when the --http address is not reachable as it is (a wildcard "
        "or a private address behind a proxy); its host also names a wildcard --udp in the "
        "registry",
    )
    p.flag(
        "--rebalance",
        env="REBALANCE",
        default=0.0,
        type=float,
        metavar="F",
        help="with --redis: placement by load while there is room too: redirect (307) a new "
        "offer when the least loaded transceiver of the cluster has a utilization "
        "(sessions/capacity) lower than this one's by more than F (0..1); 0 = only when full "
        "or draining",
    )
    p.flag(
        "--rate-limit",
        env="RATE_LIMIT",
        default=0.0,
        type=float,
        metavar="N",
        help="new sessions (POST /whip, /v1/realtime/calls, /offer) per second per client IP "
        "address, beyond which 429 + Retry-After; 0 = no limit. Behind an HTTP proxy every "
        "client has the proxy's address",
    )
    p.flag(
        "--rate-burst",
        env="RATE_BURST",
        default=0.0,
        type=float,
        metavar="N",
        help="with --rate-limit: requests a client may make at once before the rate applies; "
        "0 = max(1, 2 x --rate-limit)",
    )
    p.flag(
        "--engines",
        env="ENGINES",
        default="",
        metavar="NAMES",
        help="with --app agent: engines to prefer, comma-separated (silero, energy, whisper, "
        "pocketsphinx, piper, espeak); the best installed is used for the rest",
    )
    p.flag(
        "--llm-url",
        env="LLM_URL",
        metavar="URL",
        help="with --app agent: answer with an OpenAI-compatible chat-completions endpoint "
        "(base URL, e.g. http://127.0.0.1:8000/v1; key from PYWEBRTC_LLM_API_KEY or "
        "OPENAI_API_KEY) instead of the offline brain",
    )
    p.flag(
        "--llm-model",
        env="LLM_MODEL",
        metavar="NAME",
        help="with --llm-url: the model name",
    )
    p.flag(
        "--web",
        env="WEB",
        metavar="DIR",
        type=Path,
        help="serve a web page: DIR/index.html at / and DIR's files under /web/ (the demo "
        "uses it for its page)",
    )
    p.flag(
        "--log-level",
        env="LOG_LEVEL",
        default="INFO",
        help="logging level",
    )
    return p


def ice_links(args: argparse.Namespace) -> tuple[str, ...]:
    """The ``Link`` header values of ``--ice-server`` (or ``PYWEBRTC_SIGNALING_ICE_SERVERS``)."""
    try:
        servers = args.ice_server or (env_value(ENV_PREFIX, "ICE_SERVERS") or "").split()
        return tuple(ice_server_link(s) for s in servers)
    except ValueError as error:
        raise SystemExit(f"pywebrtc-signaling: --ice-server: {error}") from None


def config_from_args(args: argparse.Namespace) -> tuple[ServiceConfig, Application, Auth]:
    def fail(message: str) -> SystemExit:
        return SystemExit(f"pywebrtc-signaling: {message}")

    try:
        relays = args.relay or [parse_address(item) for item in env_list(ENV_PREFIX, "RELAYS")]
    except argparse.ArgumentTypeError as error:
        raise fail(f"{ENV_PREFIX}RELAYS: {error}") from None
    try:
        relays_tcp = args.relay_tcp or [parse_address(i) for i in env_list(ENV_PREFIX, "RELAY_TCP")]
    except argparse.ArgumentTypeError as error:
        raise fail(f"{ENV_PREFIX}RELAY_TCP: {error}") from None
    tokens = args.token or env_list(ENV_PREFIX, "TOKENS")
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
        dtls_role=args.dtls_role,
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
