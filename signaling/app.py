"""The application seam: how an app receives each session of the transceiver service.

An application is an async callable taking a :class:`Session`. The service calls it once per
session, after the client's offer is applied and before the answer is made, so the app can
still decide what the answer carries::

    async def app(session: Session) -> None:
        for transceiver in session.pc.getTransceivers():    # one per audio/video section
            if transceiver.kind == "audio":
                await transceiver.sender.replaceTrack(my_track)  # what we send back
        session.pc.on("datachannel", on_channel)             # channels the client opens
        session.spawn(talk(session))                         # long work: a task of the session

It must return promptly (the answer waits for it); long-running work goes into
:meth:`Session.spawn`, whose tasks are cancelled when the session ends. ``session.tracks``
holds the incoming tracks, one per audio or video section (``track.kind``). Audio tracks give
``av.AudioFrame`` from ``recv()``, or encoded Opus
``av.Packet`` when the app sets ``decode_audio = False`` on itself, as ``echo`` does; with
``forward_audio = True`` too, each packet as it arrives, without jitter buffer (a sender of
the same session given that track, as ``echo`` does, takes each packet straight from the
receiving side: the track's ``recv()`` then yields nothing); with
``hurry_audio = True``, frames delayed by a stall come faster instead of being dropped; with
``rtcp_interval = SECONDS``, its audio RTCP reports go at that minimum interval instead of
1 s). Video
tracks give ``av.VideoFrame``, or with ``decode_video = False`` on the app each frame encoded
(``av.Packet``, ``is_keyframe`` set) for a sender to pass on as ``echo`` does. A video section
is answered ``recvonly`` unless the app gives its sender a track (then ``sendrecv`` to a
``sendrecv`` offer) or sets ``transceiver.direction`` (an app that ignores video should set
``"inactive"``, or every frame is decoded for nobody). ``session.channels`` holds the data
channels as they open. ``session.config`` is the ``session``
JSON of an OpenAI Realtime call (or of the ephemeral key it was created with), else None.
:meth:`Session.close` ends the session; ``session.ended`` is set however it ends (DELETE,
hangup, the peer closing, ICE consent or DTLS failure, drain timeout).

``--app MODULE:CALLABLE`` loads ``CALLABLE`` from ``MODULE`` (a class works too: it is called
with the session). ``--app echo`` is :func:`signaling.echo.echo`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Literal

from pywebrtc.media import MediaStreamTrack
from pywebrtc.peerconnection import RTCPeerConnection
from pywebrtc.rtcdatachannel import RTCDataChannel

logger = logging.getLogger(__name__)

Application = Callable[["Session"], Awaitable[object]]
SessionKind = Literal["whip", "offer", "realtime"]


class AppError(ValueError):
    """``--app`` names nothing loadable."""


class Session:
    """One client's session: its peer connection and what the app needs of it."""

    def __init__(
        self,
        session_id: str,
        pc: RTCPeerConnection,
        kind: SessionKind,
        config: dict[str, object] | None,
        end: Callable[[Session, str], Awaitable[None]],
    ) -> None:
        self.id = session_id
        self.pc = pc
        self.kind: SessionKind = kind
        self.config = config
        self.tracks: list[MediaStreamTrack] = []
        self.channels: list[RTCDataChannel] = []
        self.ended = asyncio.Event()
        self.end_reason: str | None = None
        self._end = end
        self._tasks: set[asyncio.Task[object]] = set()

    def __repr__(self) -> str:
        return f"Session({self.id!r}, {self.kind}, {self.pc.connectionState})"

    def spawn(self, coroutine: Coroutine[object, object, object]) -> asyncio.Task[object]:
        """Run ``coroutine`` for as long as the session lives (cancelled when it ends)."""
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("session %s: app task failed", self.id, exc_info=task.exception())

    async def close(self, reason: str = "app") -> None:
        """End the session: close the peer connection and free everything it held."""
        await self._end(self, reason)

    def _cancel_tasks(self) -> None:
        current = asyncio.current_task()  # an app task may be what is ending the session
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._tasks.clear()


def load_application(
    spec: str,
    engines: Sequence[str] = (),
    llm_url: str | None = None,
    llm_model: str | None = None,
) -> Application:
    """``echo``, ``agent`` (the voice agent: ``engines`` names preferred engines, ``llm_url``
    and ``llm_model`` switch its brain to a chat-completions endpoint) or ``MODULE:CALLABLE``."""
    if spec == "echo":
        from signaling.echo import echo

        return echo
    if spec == "agent":
        try:
            from agent.service import build

            return build(engines, llm_url=llm_url, llm_model=llm_model)
        except ValueError as error:  # an unknown engine name, or no engine for a seam
            raise AppError(f"--app agent: {error}") from None
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise AppError(f"--app: expected echo or MODULE:CALLABLE, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise AppError(f"--app: cannot import {module_name!r}: {error}") from None
    target: object = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise AppError(f"--app: {module_name!r} has no {attribute!r}")
    if not callable(target):
        raise AppError(f"--app: {spec!r} is not callable")
    app: Application = target
    return app
