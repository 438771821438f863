"""Media stream tracks with aiortc's shape (W3C MediaStreamTrack) and the 20 ms audio pacer.

* :class:`MediaStreamTrack` — ``kind``, ``id``, ``readyState``, ``async recv()``, ``stop()``
  and ``on("ended")``; subclass it and return frames from ``recv()``, as with aiortc.
* :class:`AudioStreamTrack` — an audio track that yields 20 ms of silence in real time; its
  :meth:`AudioStreamTrack.next_timestamp` is the pacer subclasses use to produce frames at
  50 per second. :class:`VideoStreamTrack` is its video counterpart (aiortc's): black 640×480
  frames, and :meth:`VideoStreamTrack.next_timestamp` paces 30 frames a second in the 90 kHz
  RTP video clock (RFC 3551 §5). **These two pacers are the only code
  in** ``pywebrtc.media`` **that reads a clock** (the running loop's ``loop.time()``) or sleeps.
* :class:`RemoteAudioTrack` — what the ``track`` event hands out: frames decoded by an
  :class:`~pywebrtc.media.pipeline.AudioSession` are pushed into it by the asyncio layer and
  ``recv()`` returns them. :class:`EncodedAudioTrack` is the raw-mode counterpart whose
  ``recv()`` returns ``av.Packet`` s of Opus without decoding.
* :class:`RemoteVideoTrack` — a received video track: ``recv()`` returns decoded
  ``av.VideoFrame`` s (``pts`` the RTP timestamp, ``time_base`` 1/90000, as aiortc's);
  :class:`EncodedVideoTrack` its raw-mode counterpart (``av.Packet`` s of encoded frames;
  ``request_keyframe()`` sends the remote sender a PLI).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import av
from av.stream import Stream

from pywebrtc.events import EventEmitter
from pywebrtc.exceptions import MediaStreamError

from .frames import pcm_frame, time_base

__all__ = [
    "AUDIO_PTIME",
    "VIDEO_CLOCK_RATE",
    "VIDEO_PTIME",
    "VIDEO_TIME_BASE",
    "AudioStreamTrack",
    "EncodedAudioTrack",
    "EncodedVideoTrack",
    "MediaStreamError",
    "MediaStreamTrack",
    "RemoteAudioTrack",
    "RemoteVideoTrack",
    "VideoStreamTrack",
]

log = logging.getLogger(__name__)

AUDIO_PTIME = 0.02  # seconds per frame (RFC 7587 §4.2 default packetization)
VIDEO_CLOCK_RATE = 90000  # RTP clock of every video payload format (RFC 3551 §5)
VIDEO_PTIME = 1 / 30  # seconds per frame of VideoStreamTrack: 30 frames a second
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)


def _schedule(coroutine: Any) -> object:
    """Run an ``async def`` event handler as a task, as aiortc (pyee) does."""
    try:
        return asyncio.get_running_loop().create_task(coroutine)
    except RuntimeError:  # emitted outside a loop: nothing could ever run it
        coroutine.close()
        log.warning("coroutine event handler dropped: no running event loop")
        return None


class MediaStreamTrack(EventEmitter):
    """Base class of every track. Subclasses set ``kind`` and implement ``recv()``.

    ``async def`` handlers (``@track.on("ended")``) run as tasks on the running loop."""

    kind = "unknown"
    run_coroutine = staticmethod(_schedule)

    def __init__(self) -> None:
        super().__init__()
        self.__id = str(uuid.uuid4())
        self.__ended = False

    @property
    def id(self) -> str:
        return self.__id

    @property
    def readyState(self) -> str:
        return "ended" if self.__ended else "live"

    async def recv(self) -> av.AudioFrame | av.VideoFrame | av.Packet[Stream]:
        raise NotImplementedError

    def stop(self) -> None:
        """End the track: ``readyState`` becomes "ended" and "ended" is emitted once."""
        if not self.__ended:
            self.__ended = True
            self.emit("ended")
            self.remove_all_listeners()


class AudioStreamTrack(MediaStreamTrack):
    """An audio track producing 20 ms frames in real time (silence unless overridden)."""

    kind = "audio"
    sample_rate = 48000

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._timestamp = 0

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """Wait until the next 20 ms frame is due; return its pts and time base.

        The schedule is anchored at the first call, so a late wake-up does not accumulate
        drift: the frame after a slow one is due sooner.
        """
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        samples = int(self.sample_rate * AUDIO_PTIME)
        if self._start is None:
            self._start = loop.time()
            self._timestamp = 0
        else:
            self._timestamp += samples
            wait = self._start + self._timestamp / self.sample_rate - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        return self._timestamp, time_base(self.sample_rate)

    async def recv(self) -> av.AudioFrame:
        pts, _ = await self.next_timestamp()
        samples = int(self.sample_rate * AUDIO_PTIME)
        return pcm_frame(bytes(2 * samples), self.sample_rate, 1, pts)


class VideoStreamTrack(MediaStreamTrack):
    """A video track producing black 640×480 frames, 30 a second (aiortc's shape).

    Subclasses override :meth:`recv` and stamp their frames with :meth:`next_timestamp`.
    As in aiortc, the pacer's state (``_start``, ``_timestamp``) exists only after its first
    call: a subclass with a pacer of its own may test ``hasattr(self, "_timestamp")``.
    """

    kind = "video"
    _start: float
    _timestamp: int

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """Wait until the next frame is due (every :data:`VIDEO_PTIME`); return its pts in
        :data:`VIDEO_CLOCK_RATE` units and :data:`VIDEO_TIME_BASE`. The schedule is anchored
        at the first call, so a late wake-up is made up by the next frame."""
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if not hasattr(self, "_timestamp"):
            self._start = loop.time()
            self._timestamp = 0
        else:
            self._timestamp += int(VIDEO_PTIME * VIDEO_CLOCK_RATE)
            wait = self._start + self._timestamp / VIDEO_CLOCK_RATE - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        return self._timestamp, VIDEO_TIME_BASE

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(640, 480, "yuv420p")
        luma, blue, red = frame.planes
        luma.update(bytes([16]) * luma.buffer_size)  # BT.601 video-range black
        blue.update(bytes([128]) * blue.buffer_size)
        red.update(bytes([128]) * red.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


class _QueueTrack(MediaStreamTrack):
    """A track fed synchronously by the asyncio layer (``push``) and drained by ``recv``.

    The queue holds at most ``max_frames``; when the application reads too slowly the oldest
    frame is dropped (counted in ``dropped``) so latency stays bounded.
    """

    def __init__(self, max_frames: int = 50) -> None:
        super().__init__()
        self._items: deque[object] = deque()
        self._max = max_frames
        self._waiter: asyncio.Future[None] | None = None
        self._finished = False
        self.dropped = 0

    def push(self, item: object) -> None:
        if self._finished:
            return
        if len(self._items) >= self._max:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._wake()

    def clear(self) -> int:
        """Drop the queued frames (a reader that starts late and wants only what comes next);
        returns how many were dropped."""
        count = len(self._items)
        self._items.clear()
        return count

    def finish(self) -> None:
        """The remote source ended (BYE, removed transceiver): ``recv`` raises once drained."""
        self._finished = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _next(self) -> object:
        while not self._items:
            if self._finished or self.readyState != "live":
                self.stop()
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def stop(self) -> None:
        self._finished = True
        self._wake()
        super().stop()


class RemoteAudioTrack(_QueueTrack):
    """A received audio track: ``recv()`` returns decoded ``av.AudioFrame`` s."""

    kind = "audio"

    def push_frame(self, frame: av.AudioFrame) -> None:
        self.push(frame)

    async def recv(self) -> av.AudioFrame:
        item = await self._next()
        assert isinstance(item, av.AudioFrame)
        return item


class EncodedAudioTrack(_QueueTrack):
    """Raw mode: ``recv()`` returns encoded packets (``av.Packet`` with ``pts`` in RTP
    timestamp units and ``time_base`` 1/clock rate); a lost packet is not delivered."""

    kind = "audio"

    def push_packet(self, packet: av.Packet[Stream]) -> None:
        self.push(packet)

    async def recv(self) -> av.Packet[Stream]:
        item = await self._next()
        assert isinstance(item, av.Packet)
        return item


class RemoteVideoTrack(_QueueTrack):
    """A received video track: ``recv()`` returns decoded ``av.VideoFrame`` s, ``pts`` the
    RTP timestamp and ``time_base`` 1/90000 (aiortc's). At most ``max_frames`` wait (a slow
    reader loses the oldest, counted in ``dropped``)."""

    kind = "video"

    def __init__(self, max_frames: int = 30) -> None:
        super().__init__(max_frames)

    def push_frame(self, frame: av.VideoFrame) -> None:
        self.push(frame)

    async def recv(self) -> av.VideoFrame:
        item = await self._next()
        assert isinstance(item, av.VideoFrame)
        return item


class EncodedVideoTrack(_QueueTrack):
    """Raw mode for video: ``recv()`` returns each received frame encoded, as an
    ``av.Packet`` (``pts`` the RTP timestamp, ``time_base`` 1/90000, ``is_keyframe`` set; an
    H.264 access unit in Annex B). A sender given such packets sends them as they are."""

    kind = "video"

    def __init__(self, max_frames: int = 30) -> None:
        super().__init__(max_frames)
        # Set by the receiving side: asks the remote sender for a keyframe (a PLI).
        self.on_keyframe_request: Callable[[], None] | None = None

    def push_packet(self, packet: av.Packet[Stream]) -> None:
        self.push(packet)

    def request_keyframe(self) -> None:
        """Ask the remote sender for a keyframe (rate-limited by the session): a sender that
        forwards this track to a new receiver, or one that lost frames, needs one."""
        if self.on_keyframe_request is not None:
            self.on_keyframe_request()

    async def recv(self) -> av.Packet[Stream]:
        item = await self._next()
        assert isinstance(item, av.Packet)
        return item
