"""``SmallWebRTCRequestHandler`` on pywebrtc: pipecat's
``transports/smallwebrtc/request_handler.py`` (pipecat-ai 1.14.0, Copyright (c) 2024-2026
Daily, BSD 2-Clause) making our :class:`SmallWebRTCConnection` s.

An offer (``SmallWebRTCRequest``) gets an answer; an offer with a known ``pc_id`` renegotiates
that connection; trickled candidates (``SmallWebRTCPatchRequest``) go to theirs, an empty one
meaning end-of-candidates. A request the handler refuses raises
:class:`SmallWebRTCRequestError` with ``status_code`` and ``detail`` where pipecat raises
FastAPI's ``HTTPException`` (this module works without FastAPI); a FastAPI app turns it into
a response with an exception handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pywebrtc.contrib.pipecat.connection import IceServer, SmallWebRTCConnection
from pywebrtc.rtcicecandidate import RTCIceCandidate, candidate_from_sdp

logger = logging.getLogger(__name__)


class SmallWebRTCRequestError(ValueError):
    """A request the handler refuses: ``status_code`` is the HTTP status to answer with."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass
class SmallWebRTCRequest:
    """An offer: ``sdp``, ``type``, and ``pc_id`` when it renegotiates a connection."""

    sdp: str
    type: str
    pc_id: str | None = None
    restart_pc: bool | None = None
    request_data: Any | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SmallWebRTCRequest:
        """From the client's JSON (``requestData`` or ``request_data``)."""
        if "requestData" in data and "request_data" not in data:
            data["request_data"] = data.pop("requestData")
        return cls(**data)


@dataclass
class IceCandidate:
    """A trickled candidate: its ``a=candidate`` text ("" for end-of-candidates) and section."""

    candidate: str
    sdp_mid: str
    sdp_mline_index: int


@dataclass
class SmallWebRTCPatchRequest:
    """Trickled candidates for the connection ``pc_id``."""

    pc_id: str
    candidates: list[IceCandidate]


class ConnectionMode(Enum):
    SINGLE = "single"  # one connection at a time
    MULTIPLE = "multiple"


class SmallWebRTCRequestHandler:
    """Answers offers with new (or renegotiated) connections, keeps them by ``pc_id``."""

    def __init__(
        self,
        ice_servers: list[IceServer] | None = None,
        esp32_mode: bool = False,
        host: str | None = None,
        connection_mode: ConnectionMode = ConnectionMode.MULTIPLE,
    ) -> None:
        self._ice_servers = ice_servers
        self._esp32_mode = esp32_mode
        self._host = host
        self._connection_mode = connection_mode
        self._pcs_map: dict[str, SmallWebRTCConnection] = {}

    def _check_single_connection_constraints(self, pc_id: str | None) -> None:
        if self._connection_mode != ConnectionMode.SINGLE or not self._pcs_map:
            return
        existing = next(iter(self._pcs_map.values()))
        if pc_id and existing.pc_id != pc_id:
            raise SmallWebRTCRequestError(400, "PC ID mismatch with existing connection")
        if not pc_id:
            raise SmallWebRTCRequestError(
                400, "Cannot create new connection with existing connection active"
            )

    def update_ice_servers(self, ice_servers: list[IceServer] | None = None) -> None:
        self._ice_servers = ice_servers

    async def handle_web_request(
        self,
        request: SmallWebRTCRequest,
        webrtc_connection_callback: Callable[[Any], Awaitable[None]],
    ) -> dict[str, str] | None:
        """The answer (``sdp``, ``type``, ``pc_id``) to ``request``; a new connection is first
        handed to ``webrtc_connection_callback`` (which typically starts its pipeline)."""
        pc_id = request.pc_id
        self._check_single_connection_constraints(pc_id)
        connection = self._pcs_map.get(pc_id) if pc_id else None
        if connection is not None:
            await connection.renegotiate(
                sdp=request.sdp, type=request.type, restart_pc=request.restart_pc or False
            )
        else:
            connection = SmallWebRTCConnection(ice_servers=self._ice_servers)
            await connection.initialize(sdp=request.sdp, type=request.type)

            @connection.event_handler("closed")  # type: ignore[untyped-decorator]
            async def on_closed(closed: SmallWebRTCConnection) -> None:
                self._pcs_map.pop(closed.pc_id, None)

            try:
                await webrtc_connection_callback(connection)
            except Exception:
                logger.exception("webrtc_connection_callback failed for %s", connection.pc_id)
        answer = connection.get_answer()
        if answer is None:
            raise RuntimeError("SmallWebRTC connection produced no SDP answer")
        if self._esp32_mode:
            from pipecat.runner.utils import smallwebrtc_sdp_munging

            answer["sdp"] = smallwebrtc_sdp_munging(answer["sdp"], self._host)
        self._pcs_map[answer["pc_id"]] = connection
        return answer

    async def handle_patch_request(self, request: SmallWebRTCPatchRequest) -> None:
        """Hand trickled candidates to their connection."""
        connection = self._pcs_map.get(request.pc_id)
        if connection is None:
            raise SmallWebRTCRequestError(404, "Peer connection not found")
        for c in request.candidates:
            candidate: RTCIceCandidate | None = None
            if c.candidate:
                candidate = candidate_from_sdp(c.candidate)
                candidate.sdpMid = c.sdp_mid
                candidate.sdpMLineIndex = c.sdp_mline_index
            await connection.add_ice_candidate(candidate)

    async def close(self) -> None:
        """Hang up every connection."""
        await asyncio.gather(*(pc.disconnect() for pc in self._pcs_map.values()))
        self._pcs_map.clear()


__all__ = [
    "ConnectionMode",
    "IceCandidate",
    "SmallWebRTCPatchRequest",
    "SmallWebRTCRequest",
    "SmallWebRTCRequestError",
    "SmallWebRTCRequestHandler",
]
