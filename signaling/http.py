"""The HTTP side of the service (aiohttp): routes, CORS, Bearer auth, errors, health, metrics.

Every response carries CORS headers (``Access-Control-Allow-Origin: *`` and the response
headers a WHIP or Realtime client reads, exposed), every ``OPTIONS`` is a preflight answer
(``Accept-Post: application/sdp`` and the ``Link: rel="ice-server"`` headers on WHIP), and
every error is a 4xx (or 503) with a one-line
``text/plain`` reason: bad input never becomes a 5xx. The endpoints themselves are in
:mod:`signaling.whip` (``/whip``, ``/offer``) and :mod:`signaling.realtime`
(``/v1/realtime/...``).

Session-creating requests (``POST /whip``, ``POST /v1/realtime/calls``, ``POST /offer``) pass
the per-client rate limit first (:mod:`signaling.ratelimit`, 429 + ``Retry-After``), then
authentication. One this transceiver cannot take (full or draining) is redirected with ``307``
(method and body kept) to the same path on the least loaded transceiver of the cluster with room
(:mod:`signaling.registry`), with ``redirected=1`` added to the query: a redirected request is
never redirected again (503 instead), so stale loads cannot bounce an offer around. Without a
registry, or with no transceiver to send it to, it gets ``503`` + ``Retry-After``. With
``--rebalance``, an offer it could take is redirected the same way when another transceiver is
much less loaded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from yarl import URL

from signaling.auth import Auth, EphemeralKey
from signaling.metrics import CONTENT_TYPE, Metrics
from signaling.ratelimit import RateLimiter
from signaling.registry import Registry
from signaling.sessions import OfferError, SessionManager, Unavailable

logger = logging.getLogger(__name__)

MAX_BODY = 128 * 1024  # an SDP offer is a few KiB; more is refused with 413
RETRY_AFTER = "5"
SDP = "application/sdp"
SDPFRAG = "application/trickle-ice-sdpfrag"
EXPOSED = "Location, ETag, Link, Accept-Post, Accept-Patch, Retry-After, Content-Type"
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match"
ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"


class HttpError(Exception):
    """A 4xx/503 answer with a one-line reason."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


@dataclass(slots=True)
class Service:
    manager: SessionManager
    auth: Auth
    metrics: Metrics
    ice_links: tuple[str, ...] = ()  # Link header values (RFC 9725 §4.4), see ice_server_link
    web_root: Path | None = None  # --web: a page at / and its files under /web/
    registry: Registry | None = None  # --redis: redirect targets when full or draining
    limiter: RateLimiter | None = None  # --rate-limit on the session-creating endpoints

    def limit(self, request: web.Request) -> None:
        """Take a token of the client's rate limit (a session-creating request): 429 if none."""
        if self.limiter is None:
            return
        wait = self.limiter.take(request.remote or "", asyncio.get_running_loop().time())
        if wait > 0:
            raise HttpError(
                429,
                f"rate limit: {self.limiter.rate:g} new sessions per second per client address",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def admit(self, request: web.Request) -> None:
        """Before reading an offer: refuse at once if no session can be made here (Unavailable,
        which the middleware turns into a redirect or a 503), or redirect it if another
        transceiver is much less loaded (``--rebalance``)."""
        manager = self.manager
        if manager.draining:
            raise Unavailable("draining")
        if not manager.ready:
            raise Unavailable("full")
        location = self.redirect(request, rebalance=True)
        if location is not None:
            raise HttpError(307, f"placed by load: try {location}", {"Location": location})

    def redirect(self, request: web.Request, rebalance: bool = False) -> str | None:
        """Where to send an offer this transceiver cannot take (an absolute URL), or None;
        with ``rebalance``, where to send one it can take but another should."""
        if self.registry is None or "redirected" in request.query:
            return None
        base = self.registry.target(rebalance)
        if base is None:
            return None
        url = URL(base.rstrip("/") + request.path)
        return str(url.with_query({**request.query, "redirected": "1"}))

    def authorize(self, request: web.Request) -> EphemeralKey | bool:
        """Check the Bearer token (a configured one or a live ephemeral key): 401 otherwise."""
        result = self.auth.check(request.headers.get("Authorization"))
        if result is False:
            raise HttpError(
                401, "missing or bad Bearer token", {"WWW-Authenticate": 'Bearer realm="pywebrtc"'}
            )
        return result

    def authorize_configured(self, request: web.Request) -> None:
        if not self.auth.is_configured_token(request.headers.get("Authorization")):
            raise HttpError(
                401, "a configured Bearer token is required",
                {"WWW-Authenticate": 'Bearer realm="pywebrtc"'},
            )  # fmt: skip


SERVICE = web.AppKey("service", Service)


def ice_server_link(spec: str) -> str:
    """``URL`` or ``URL|USERNAME|CREDENTIAL`` → a ``Link: <URL>; rel="ice-server"`` value
    (RFC 9725 §4.4, RFC 8288). ValueError on a URL that is not stun:/stuns:/turn:/turns:."""
    url, _, rest = spec.strip().partition("|")
    if not re.fullmatch(r"(stuns?|turns?):[^\s<>\"]+", url):
        raise ValueError(f"not a STUN or TURN URL: {url!r}")
    link = f'<{url}>; rel="ice-server"'
    if rest:
        username, sep, credential = rest.partition("|")
        if not sep or '"' in username or '"' in credential:
            raise ValueError("expected URL|USERNAME|CREDENTIAL")
        link += f'; username="{username}"; credential="{credential}"; credential-type="password"'
    return link


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def read_text(request: web.Request, what: str = "body") -> str:
    """The request body as UTF-8 text (413 beyond MAX_BODY, 400 if not UTF-8)."""
    body = await request.read()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, f"the {what} is not UTF-8") from None


def require_content_type(request: web.Request, *types: str) -> None:
    if request.content_type not in types:
        raise HttpError(415, f"Content-Type must be {' or '.join(types)}")


def _text(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    line = " ".join(reason.split())[:300] or "error"
    return web.Response(status=status, text=line + "\n", headers=headers)


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    service = request.app[SERVICE]
    response: web.StreamResponse
    try:
        if request.method == "OPTIONS":
            response = _preflight(request)
        else:
            response = await handler(request)
    except HttpError as error:
        response = _text(error.status, error.reason, error.headers)
    except OfferError as error:
        response = _text(error.status, str(error))
    except Unavailable as error:
        location = service.redirect(request)
        if location is None:
            response = _text(503, f"unavailable: {error}", {"Retry-After": RETRY_AFTER})
        else:
            response = _text(307, f"{error}: try {location}", {"Location": location})
    except web.HTTPException as error:  # routing (404, 405) and aiohttp's own (413)
        headers = {k: v for k, v in error.headers.items() if k in ("Allow",)}
        response = _text(error.status, error.reason, headers)
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        response = _text(500, "internal error")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED
    service.metrics.http_requests.labels(request.method, str(response.status)).inc()
    return response


def _preflight(request: web.Request) -> web.Response:
    match = request.match_info
    error = match.http_exception
    if error is not None and error.status == 404:
        raise error
    headers = {
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "86400",
    }
    if request.path.rstrip("/") == "/whip":
        headers["Accept-Post"] = SDP
        links = request.app[SERVICE].ice_links
        if links:
            response = web.Response(status=204, headers=headers)
            for link in links:
                response.headers.add("Link", link)
            return response
    elif request.path.startswith("/whip/"):
        headers["Accept-Patch"] = SDPFRAG
    return web.Response(status=204, headers=headers)


async def _livez(request: web.Request) -> web.Response:
    return _text(200, "ok")


async def _readyz(request: web.Request) -> web.Response:
    manager = request.app[SERVICE].manager
    if manager.draining:
        return _text(503, "draining", {"Retry-After": RETRY_AFTER})
    if not manager.ready:
        return _text(503, "full", {"Retry-After": RETRY_AFTER})
    return _text(200, "ready")


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICE].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def build_app(service: Service) -> web.Application:
    from signaling import realtime, whip

    app = web.Application(middlewares=[_middleware], client_max_size=MAX_BODY)
    app[SERVICE] = service
    app.router.add_get("/livez", _livez)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    whip.add_routes(app)
    realtime.add_routes(app)
    if service.web_root is not None:
        index = service.web_root / "index.html"

        async def page(_: web.Request) -> web.FileResponse:
            return web.FileResponse(index)

        app.router.add_get("/", page)
        app.router.add_static("/web/", service.web_root)
    return app
