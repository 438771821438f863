"""``SmallWebRTCConnection`` on pywebrtc: pipecat's ``transports/smallwebrtc/connection.py``
(pipecat-ai 1.14.0, Copyright (c) 2024-2026 Daily, BSD 2-Clause) with our peer connection.

The public surface is pipecat's: the constructor (ICE servers as URLs or ``IceServer`` s),
``initialize``/``renegotiate``/``connect``/``disconnect``, ``get_answer``, the input-track
getters by transceiver index (audio 0, camera 1, screen 2, the order pipecat's clients add
them in), ``replace_*_track``, ``send_app_message`` (queued until the data channel opens) and
the events ``app-message``, ``track-started``, ``track-ended``, ``track-status`` and the
connection states. An app switches by importing it from here instead of from pipecat.

What differs, and why:

* The client hanging up closes the connection ("closed" fires, then the transport's
  ``on_client_disconnected``), as aiortc does; our peer connection itself reports
  "disconnected" then, as W3C's does.
* No SCTP chunk-size patch: pipecat clamps aiortc's DATA chunks to 1100 bytes; our
  association sizes its chunks to the path MTU it is configured with.
* :class:`SmallWebRTCTrack` has no idle watcher: pipecat's stops aiortc's receiver from
  decoding into an unbounded queue while nobody reads; our received tracks hold a bounded
  queue (the oldest frame is dropped when it is full), so an unread track cannot grow.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import av
from pipecat.utils.base_object import BaseObject
from pydantic import BaseModel, TypeAdapter

from pywebrtc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from pywebrtc.rtcicecandidate import RTCIceCandidate
from pywebrtc.stats import RTCTransportStats

logger = logging.getLogger(__name__)

SIGNALLING_TYPE = "signalling"
AUDIO_TRANSCEIVER_INDEX = 0
VIDEO_TRANSCEIVER_INDEX = 1
SCREEN_VIDEO_TRANSCEIVER_INDEX = 2

# Messages queued while the data channel is not yet open (pipecat's numbers).
MAX_MESSAGE_QUEUE_SIZE = 50
# Seconds after "connected" for the data channel to open before queueing stops.
DATA_CHANNEL_TIMEOUT_SECS = 10
# A client that sends "ping" keep-alives is connected while the last came this recently.
PING_TIMEOUT_SECS = 3.0

# pipecat's name for the ICE server class.
IceServer = RTCIceServer


class TrackStatusMessage(BaseModel):
    """The client turned one of its sources (by receiver index) on or off."""

    type: Literal["trackStatus"]
    receiver_index: int
    enabled: bool


class RenegotiateMessage(BaseModel):
    """Asks the client to send a new offer."""

    type: Literal["renegotiate"] = "renegotiate"


class PeerLeftMessage(BaseModel):
    """Tells the client we are leaving."""

    type: Literal["peerLeft"] = "peerLeft"


class SignallingMessage:
    """The signalling messages carried in ``{"type": "signalling", "message": ...}``."""

    Inbound = TrackStatusMessage
    outbound = RenegotiateMessage


class SmallWebRTCTrack:
    """A received track with pipecat's enabled flag (the client's ``trackStatus``): a disabled
    video track's :meth:`recv` returns None instead of a frame."""

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self._receiver = receiver
        self._track: MediaStreamTrack = receiver.track
        self._enabled = True

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled

    def is_enabled(self) -> bool:
        return self._enabled

    async def discard_old_frames(self) -> None:
        """Drop the frames waiting in the track's queue (latency after a late start)."""
        clear = getattr(self._track, "clear", None)  # received tracks have it
        if clear is not None:
            clear()

    async def recv(self) -> av.AudioFrame | av.VideoFrame | None:
        if not self._enabled and self._track.kind == "video":
            return None
        frame = await self._track.recv()
        return frame if isinstance(frame, av.AudioFrame | av.VideoFrame) else None

    def stop(self) -> None:
        self._track.stop()

    @property
    def kind(self) -> str:
        return self._track.kind

    @property
    def id(self) -> str:
        return self._track.id

    @property
    def readyState(self) -> str:
        return self._track.readyState


def _ice_servers(servers: Sequence[object] | None) -> list[RTCIceServer]:
    """URLs, our RTCIceServer, or another stack's (aiortc's) object with its fields."""
    if not servers:
        return []
    if all(isinstance(s, str) for s in servers):
        return [RTCIceServer(urls=str(s)) for s in servers]
    if any(isinstance(s, str) for s in servers):
        raise TypeError("ice_servers must be either List[str] or List[RTCIceServer]")
    converted = []
    for server in servers:
        if isinstance(server, RTCIceServer):
            converted.append(server)
            continue
        urls = getattr(server, "urls", None)
        if not isinstance(urls, str | list):
            raise TypeError("ice_servers must be either List[str] or List[RTCIceServer]")
        converted.append(
            RTCIceServer(
                urls=urls,
                username=getattr(server, "username", None),
                credential=getattr(server, "credential", None),
            )
        )
    return converted


class SmallWebRTCConnection(BaseObject):
    """One client's peer connection, as pipecat's transport and request handler use it."""

    def __init__(
        self,
        ice_servers: Sequence[str] | Sequence[object] | None = None,
        connection_timeout_secs: int = 60,
    ) -> None:
        super().__init__()
        self.ice_servers = _ice_servers(ice_servers)
        self.connection_timeout_secs = connection_timeout_secs
        self._connect_invoked = False
        self._track_map: dict[int, SmallWebRTCTrack | None] = {}
        self._renegotiation_task: asyncio.Task[None] | None = None
        self._initialize()
        for event in (
            "app-message",
            "track-started",
            "track-ended",
            "track-status",
            "connecting",
            "connected",
            "disconnected",
            "closed",
            "failed",
            "new",
        ):
            self._register_event_handler(event)

    @property
    def pc(self) -> RTCPeerConnection:
        return self._pc

    @property
    def pc_id(self) -> str:
        return self._pc_id

    def _initialize(self) -> None:
        config = RTCConfiguration(
            iceServers=self.ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        self._answer: RTCSessionDescription | None = None
        self._pc = RTCPeerConnection(config)
        self._pc_id = f"{self.name}-{uuid.uuid4().hex}"
        self._data_channel: RTCDataChannel | None = None
        self._renegotiation_in_progress = False
        self._last_received_time: float | None = None
        self._outgoing_messages_queue: list[str] = []
        self._data_channel_enabled = True
        self._pending_app_messages: list[Any] = []
        self._connecting_timeout_task: asyncio.Task[None] | None = None
        self._data_channel_timeout_task: asyncio.Task[None] | None = None
        self._setup_listeners()

    def _setup_listeners(self) -> None:
        pc = self._pc

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            self._data_channel = channel
            # A channel the client created is open when "datachannel" fires (as aiortc's).
            if channel.readyState == "open":
                self._flush_message_queue()

            @channel.on("open")
            def on_open() -> None:
                self._flush_message_queue()

            @channel.on("message")
            async def on_message(message: str | bytes) -> None:
                await self._on_message(message)

        @pc.on("connectionstatechange")
        async def on_connectionstatechange() -> None:
            await self._handle_new_connection_state()

        @pc.on("track")
        async def on_track(track: MediaStreamTrack) -> None:
            logger.debug("track %s received", track.kind)
            await self._call_event_handler("track-started", track)

            @track.on("ended")
            async def on_ended() -> None:
                await self._call_event_handler("track-ended", track)

    async def _on_message(self, message: str | bytes) -> None:
        try:
            # The client's keep-alive: pipecat's way to notice a client that went away.
            if isinstance(message, str) and message.startswith("ping"):
                self._last_received_time = time.time()
                return
            json_message = json.loads(message)
            if json_message.get("type") == SIGNALLING_TYPE and json_message.get("message"):
                await self._handle_signalling_message(json_message["message"])
            elif self.is_connected():
                await self._call_event_handler("app-message", json_message)
            else:
                self._pending_app_messages.append(json_message)
        except Exception as exc:
            logger.error("error handling data channel message %r: %s", message, exc)

    async def _create_answer(self, sdp: str, type: str) -> None:
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=type))
        self.force_transceivers_to_send_recv()
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        self._answer = self._pc.localDescription

    async def initialize(self, sdp: str, type: str) -> None:
        """Answer the client's first offer."""
        await self._create_answer(sdp, type)

    async def connect(self) -> None:
        """The pipeline is ready: "connected" fires now if the peer already is."""
        self._connect_invoked = True
        if not self.is_connected():
            return
        await self._call_event_handler("connected")
        for message in self._pending_app_messages:
            await self._call_event_handler("app-message", message)
        self._pending_app_messages.clear()
        video = [t for t in (self.video_input_track(), self.screen_video_input_track()) if t]
        for track in video:
            await track.discard_old_frames()
        if video:
            # The first video frames went by before the pipeline read them: the client's new
            # offer brings a keyframe sooner than waiting for the next one.
            self.ask_to_renegotiate()

    async def renegotiate(self, sdp: str, type: str, restart_pc: bool = False) -> None:
        """Answer a new offer from the client; ``restart_pc`` starts over on a new connection."""
        if restart_pc:
            await self._call_event_handler("disconnected")
            self._pc.remove_all_listeners()
            await self._close()
            self._initialize()
        await self._create_answer(sdp, type)

        async def renegotiation_done() -> None:
            await asyncio.sleep(2)  # pipecat's: the client has applied the answer by then
            self._renegotiation_in_progress = False
            if self._renegotiation_task is asyncio.current_task():
                self._renegotiation_task = None

        self._renegotiation_task = asyncio.create_task(renegotiation_done())

    def force_transceivers_to_send_recv(self) -> None:
        """Audio and camera are sendrecv, the rest (screen) recvonly, whatever was offered."""
        for index, transceiver in enumerate(self._pc.getTransceivers()):
            transceiver.direction = "sendrecv" if index < 2 else "recvonly"

    def _replace_track(self, index: int, track: MediaStreamTrack | None) -> None:
        transceivers = self._pc.getTransceivers()
        if len(transceivers) > index:
            transceivers[index].sender.replaceTrack(track)
        else:
            logger.warning("no transceiver %d to send a track on", index)

    def replace_audio_track(self, track: MediaStreamTrack | None) -> None:
        self._replace_track(AUDIO_TRANSCEIVER_INDEX, track)

    def replace_video_track(self, track: MediaStreamTrack | None) -> None:
        self._replace_track(VIDEO_TRANSCEIVER_INDEX, track)

    def replace_screen_video_track(self, track: MediaStreamTrack | None) -> None:
        self._replace_track(SCREEN_VIDEO_TRANSCEIVER_INDEX, track)

    async def disconnect(self) -> None:
        """Tell the client we leave, then close."""
        self.send_app_message({"type": SIGNALLING_TYPE, "message": PeerLeftMessage().model_dump()})
        await self._close()

    async def _close(self) -> None:
        for track in self._track_map.values():
            if track is not None:
                track.stop()
        self._track_map = {}
        await self._pc.close()
        self._outgoing_messages_queue.clear()
        self._data_channel_enabled = True
        self._pending_app_messages.clear()
        self._cancel(self._connecting_timeout_task)
        self._cancel(self._data_channel_timeout_task)
        self._connecting_timeout_task = self._data_channel_timeout_task = None

    @staticmethod
    def _cancel(task: asyncio.Task[None] | None) -> None:
        if task is not None and not task.done():
            task.cancel()

    def get_answer(self) -> dict[str, str] | None:
        """``{"sdp", "type", "pc_id"}`` of our answer, or None before one."""
        if self._answer is None:
            return None
        return {"sdp": self._answer.sdp, "type": self._answer.type, "pc_id": self._pc_id}

    async def _handle_new_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connecting":
            if self._connecting_timeout_task is None:
                self._connecting_timeout_task = asyncio.create_task(self._connecting_timeout())
        else:
            self._cancel(self._connecting_timeout_task)
            self._connecting_timeout_task = None
        if state == "connected" and self._data_channel_timeout_task is None:
            self._data_channel_timeout_task = asyncio.create_task(self._data_channel_timeout())
        if state == "connected" and not self._connect_invoked:
            return  # connect() fires "connected" once the pipeline is ready
        logger.debug("connection state is %s", state)
        await self._call_event_handler(state)
        if state == "failed" or (state == "disconnected" and await self._peer_hung_up()):
            await self._close()

    async def _peer_hung_up(self) -> bool:
        """The client closed its connection (DTLS close_notify): aiortc closes the peer
        connection then, and pipecat's "closed" handlers (the bot's end) rely on it. Ours stays
        "disconnected" as W3C says, so the close is done here."""
        report = await self._pc.getStats()
        return any(
            isinstance(s, RTCTransportStats) and s.dtlsState == "closed" for s in report.values()
        )

    async def _connecting_timeout(self) -> None:
        await asyncio.sleep(self.connection_timeout_secs)
        logger.warning("no connection to the peer in %s s: closing", self.connection_timeout_secs)
        self._connecting_timeout_task = None
        await self._close()

    async def _data_channel_timeout(self) -> None:
        await asyncio.sleep(DATA_CHANNEL_TIMEOUT_SECS)
        if self._data_channel is None or self._data_channel.readyState != "open":
            logger.warning("no data channel %s s after connecting", DATA_CHANNEL_TIMEOUT_SECS)
            self._outgoing_messages_queue.clear()
            self._data_channel_enabled = False

    def is_connected(self) -> bool:
        """Connected, and (for a client that sends keep-alive pings) recently heard from."""
        if not self._connect_invoked:
            return False
        if self._last_received_time is None:
            return self._pc.connectionState == "connected"
        return time.time() - self._last_received_time < PING_TIMEOUT_SECS

    def _input_track(self, index: int) -> SmallWebRTCTrack | None:
        track = self._track_map.get(index)
        if track is not None:
            return track
        transceivers = self._pc.getTransceivers()
        if len(transceivers) <= index:
            return None
        track = SmallWebRTCTrack(transceivers[index].receiver)
        self._track_map[index] = track
        return track

    def audio_input_track(self) -> SmallWebRTCTrack | None:
        return self._input_track(AUDIO_TRANSCEIVER_INDEX)

    def video_input_track(self) -> SmallWebRTCTrack | None:
        return self._input_track(VIDEO_TRANSCEIVER_INDEX)

    def screen_video_input_track(self) -> SmallWebRTCTrack | None:
        return self._input_track(SCREEN_VIDEO_TRANSCEIVER_INDEX)

    def send_app_message(self, message: Any) -> None:
        """Send ``message`` as JSON on the data channel, or queue it until the channel opens."""
        text = json.dumps(message)
        channel = self._data_channel
        if channel is not None and channel.readyState == "open":
            channel.send(text)
        elif not self._data_channel_enabled:
            logger.debug("no data channel: message dropped")
        elif len(self._outgoing_messages_queue) < MAX_MESSAGE_QUEUE_SIZE:
            self._outgoing_messages_queue.append(text)
        else:
            logger.warning("message queue full (%d): message dropped", MAX_MESSAGE_QUEUE_SIZE)

    def _flush_message_queue(self) -> None:
        self._cancel(self._data_channel_timeout_task)
        channel = self._data_channel
        if channel is None:
            return
        while self._outgoing_messages_queue:
            channel.send(self._outgoing_messages_queue.pop(0))

    def ask_to_renegotiate(self) -> None:
        if self._renegotiation_in_progress:
            return
        self._renegotiation_in_progress = True
        self.send_app_message(
            {"type": SIGNALLING_TYPE, "message": RenegotiateMessage().model_dump()}
        )

    async def _handle_signalling_message(self, message: object) -> None:
        signalling = TypeAdapter(SignallingMessage.Inbound).validate_python(message)
        track = self._input_track(signalling.receiver_index)
        if track is not None:
            track.set_enabled(signalling.enabled)
        await self._call_event_handler(
            "track-status", signalling.receiver_index, signalling.enabled
        )

    async def add_ice_candidate(self, candidate: RTCIceCandidate | None) -> None:
        """A trickled candidate from the client; None is end-of-candidates."""
        await self._pc.addIceCandidate(candidate)


__all__ = [
    "AUDIO_TRANSCEIVER_INDEX",
    "SCREEN_VIDEO_TRANSCEIVER_INDEX",
    "SIGNALLING_TYPE",
    "VIDEO_TRANSCEIVER_INDEX",
    "IceServer",
    "PeerLeftMessage",
    "RenegotiateMessage",
    "SignallingMessage",
    "SmallWebRTCConnection",
    "SmallWebRTCTrack",
    "TrackStatusMessage",
]
