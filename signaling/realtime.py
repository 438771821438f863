"""OpenAI Realtime-compatible WebRTC endpoints.

* ``POST /v1/realtime/calls``: the offer as ``application/sdp``, or ``multipart/form-data``
  (or a urlencoded form) with the fields ``sdp`` and ``session`` (JSON) → ``201``, ``Location:
  /v1/realtime/calls/{call_id}``, the SDP answer. The ``session`` JSON (or, without one, the
  session the ephemeral key was minted with) is handed to the app as ``Session.config``.
* ``POST /v1/realtime/calls/{call_id}/hangup``: ends the call (``200``).
* ``POST /v1/realtime/client_secrets`` (Bearer: a configured ``--token``): mints an ephemeral
  key ``{"value": "ek_…", "expires_at": <unix>, "session": …}`` accepted as a Bearer token for
  creating calls until it expires; ``expires_after.seconds`` is 10-7200 (default 600).
"""

from __future__ import annotations

import json

from aiohttp import web

from signaling.auth import (
    DEFAULT_EPHEMERAL_SECONDS,
    MAX_EPHEMERAL_SECONDS,
    MIN_EPHEMERAL_SECONDS,
    EphemeralKey,
    EphemeralKeyTooLarge,
)
from signaling.http import SDP, SERVICE, HttpError, read_text, require_content_type

FORM = "application/x-www-form-urlencoded"  # accepted too: a form without files


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/realtime/calls", post_call)
    app.router.add_post("/v1/realtime/calls/{id}/hangup", hangup)
    app.router.add_post("/v1/realtime/client_secrets", client_secret)


def _json_object(text: str, what: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise HttpError(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise HttpError(400, f"{what} must be a JSON object")
    return value


async def post_call(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.limit(request)
    key = service.authorize(request)
    require_content_type(request, SDP, "multipart/form-data", FORM)
    service.admit(request)
    config: dict[str, object] | None = key.session if isinstance(key, EphemeralKey) else None
    if request.content_type == SDP:
        offer = await read_text(request, "offer")
    else:
        try:
            form = await request.post()
        except ValueError as error:
            raise HttpError(400, f"bad multipart body: {error}") from None
        sdp = form.get("sdp")
        if isinstance(sdp, web.FileField):
            sdp = sdp.file.read().decode("utf-8", "replace")
        if not isinstance(sdp, str):
            raise HttpError(400, "the multipart body needs an sdp field")
        offer = sdp
        session_field = form.get("session")
        if isinstance(session_field, web.FileField):
            session_field = session_field.file.read().decode("utf-8", "replace")
        if isinstance(session_field, str):
            config = _json_object(session_field, "the session field")
    session, answer = await service.manager.create(offer, "realtime", config)
    return web.Response(
        status=201,
        text=answer,
        headers={"Content-Type": SDP, "Location": f"/v1/realtime/calls/{session.id}"},
    )


async def hangup(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.authorize(request)
    session = service.manager.get(request.match_info["id"])
    if session is None or session.kind != "realtime":
        raise HttpError(404, "no such call")
    await service.manager.end(session, "hangup")
    return web.Response(status=200)


async def client_secret(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.authorize_configured(request)
    text = await read_text(request)
    body = _json_object(text, "the body") if text.strip() else {}
    seconds = DEFAULT_EPHEMERAL_SECONDS
    expires_after = body.get("expires_after")
    if expires_after is not None:
        if not isinstance(expires_after, dict):
            raise HttpError(400, "expires_after must be an object")
        anchor = expires_after.get("anchor", "created_at")
        if anchor != "created_at":
            raise HttpError(400, "expires_after.anchor must be created_at")
        value = expires_after.get("seconds", DEFAULT_EPHEMERAL_SECONDS)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not MIN_EPHEMERAL_SECONDS <= value <= MAX_EPHEMERAL_SECONDS
        ):
            low, high = MIN_EPHEMERAL_SECONDS, MAX_EPHEMERAL_SECONDS
            raise HttpError(400, f"expires_after.seconds must be {low}-{high}")
        seconds = value
    session = body.get("session")
    if session is not None and not isinstance(session, dict):
        raise HttpError(400, "session must be an object")
    try:
        key = service.auth.mint(seconds, session)
    except EphemeralKeyTooLarge as error:
        raise HttpError(413, str(error)) from None
    return web.json_response(
        {"value": key.value, "expires_at": key.expires_at, "session": key.session or {}}
    )
