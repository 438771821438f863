"""WHIP (RFC 9725) at ``POST /whip`` and the plain JSON ``POST /offer``.

WHIP, server side:

* ``POST /whip`` with ``Content-Type: application/sdp`` (else 415) and the offer: ``201`` with
  ``Location: /whip/<id>``, ``Content-Type: application/sdp``, the answer, a strong ``ETag``
  naming the ICE session (§4.3.1), ``Accept-Patch: application/trickle-ice-sdpfrag`` and a
  ``Link: <url>; rel="ice-server"`` header per ``--ice-server`` (§4.4; on ``OPTIONS`` too).
  Offers without candidates are fine: the ICE-lite session learns the client's address from
  its checks. Answers are ``sendrecv`` to ``sendrecv`` sections (this server's extension: the
  session talks back), ``recvonly`` to ``sendonly`` ones.
* ``PATCH /whip/<id>`` with ``Content-Type: application/trickle-ice-sdpfrag`` (RFC 8840):
  ``If-Match`` is required (428 without it); candidates for the current ICE session (``If-Match``
  its ETag or ``*``, else 412) give ``204``; new ``ice-ufrag``/``ice-pwd`` restart ICE (§4.3.2:
  ``If-Match: *`` or the current ETag) and give ``200`` with our new credentials and candidates
  as an sdpfrag and a new ETag.
* ``DELETE /whip/<id>``: ``200``, the session ends and is freed. Unknown ids are 404.

``POST /offer``: ``{"type": "offer", "sdp": …}`` → ``{"type": "answer", "sdp": …}`` (the shape of
aiortc's examples and the webrtc-echoes harness); the session has no resource URL and ends when
the peer closes or ICE fails.
"""

from __future__ import annotations

import json

from aiohttp import web

from pywebrtc.sdp.fragment import SdpFragment
from signaling.app import Session
from signaling.http import (
    SDP,
    SDPFRAG,
    SERVICE,
    HttpError,
    read_text,
    require_content_type,
)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/whip", post_whip)
    app.router.add_patch("/whip/{id}", patch_whip)
    app.router.add_delete("/whip/{id}", delete_whip)
    app.router.add_post("/offer", post_offer)


async def post_whip(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.limit(request)
    service.authorize(request)
    require_content_type(request, SDP)
    service.admit(request)
    offer = await read_text(request, "offer")
    session, answer = await service.manager.create(offer, "whip")
    response = web.Response(
        status=201,
        text=answer,
        headers={
            "Content-Type": SDP,
            "Location": f"/whip/{session.id}",
            "ETag": service.manager.etag(session.id),
            "Accept-Patch": SDPFRAG,
        },
    )
    for link in service.ice_links:
        response.headers.add("Link", link)
    return response


def _session(request: web.Request) -> Session:
    session = request.app[SERVICE].manager.get(request.match_info["id"])
    if session is None or session.kind != "whip":
        raise HttpError(404, "no such WHIP session")
    return session


async def patch_whip(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.authorize(request)
    session = _session(request)
    require_content_type(request, SDPFRAG)
    if_match = request.headers.get("If-Match")
    if if_match is None:
        raise HttpError(428, "If-Match is required (the session's ETag, or * to restart ICE)")
    etag = service.manager.etag(session.id)
    if if_match.strip() != "*" and etag not in [t.strip() for t in if_match.split(",")]:
        raise HttpError(412, "If-Match does not name the current ICE session")
    text = await read_text(request, "sdpfrag")
    try:
        fragment = SdpFragment.parse(text)
    except ValueError as error:
        raise HttpError(400, f"bad sdpfrag: {' '.join(str(error).split())[:200]}") from None
    restarted = await service.manager.trickle(session, fragment)
    if restarted is None:
        return web.Response(status=204)
    return web.Response(
        status=200,
        text=restarted,
        headers={"Content-Type": SDPFRAG, "ETag": service.manager.etag(session.id)},
    )


async def delete_whip(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.authorize(request)
    session = _session(request)
    await service.manager.end(session, "deleted")
    return web.Response(status=200)


async def post_offer(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    service.limit(request)
    service.authorize(request)
    require_content_type(request, "application/json")
    service.admit(request)
    try:
        body = json.loads(await read_text(request))
    except json.JSONDecodeError:
        raise HttpError(400, "the body is not JSON") from None
    if not isinstance(body, dict) or body.get("type") != "offer":
        raise HttpError(400, 'expected {"type": "offer", "sdp": "..."}')
    sdp = body.get("sdp")
    if not isinstance(sdp, str):
        raise HttpError(400, "sdp must be a string")
    session, answer = await service.manager.create(sdp, "offer")
    return web.json_response({"type": "answer", "sdp": answer, "id": session.id})
