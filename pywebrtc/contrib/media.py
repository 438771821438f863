"""Media sources and sinks through PyAV, with aiortc's ``aiortc.contrib.media`` names.

* :class:`MediaPlayer` — reads a file, a URL or a capture device; ``player.audio`` and
  ``player.video`` are tracks (None when the input has no such stream). Audio comes out as
  20 ms frames of s16 stereo at 48 kHz, ``pts`` counting samples; video frames keep the
  input's time base, ``pts`` starting at 0. Files are played in real time (devices pace
  themselves); at the end the tracks end (``recv`` raises :class:`MediaStreamError`, ``ended``
  is emitted), or playback starts over with ``loop=True``. ``decode=False`` hands out the
  encoded packets (Opus, G.711; H.264, VP8) as ``av.Packet`` s.
* :class:`MediaRecorder` — writes tracks to a file; the codec follows the container (WAV:
  PCM, MP3, Ogg/WebM: Opus, otherwise AAC; images: PNG, WebM: VP8, otherwise H.264).
* :class:`MediaBlackhole` — reads tracks and drops what they give.
* :class:`MediaRelay` — one source track read once, its frames handed to any number of
  subscriber tracks.

The player decodes in a thread of its own (PyAV blocks) and hands frames to the event loop;
everything else runs on the loop. The peer connection sends both kinds: ``player.video``
frames are encoded (VP8, VP9, H.264); with ``decode=False`` its H.264/VP8 packets are sent as
they are when that is the negotiated codec.
"""

from __future__ import annotations

import asyncio
import errno
import fractions
import logging
import threading
import time
from collections import deque
from typing import Any, TypeAlias

import av
import av.container
from av import AudioFrame, VideoFrame
from av.audio.stream import AudioStream
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from pywebrtc.exceptions import MediaStreamError
from pywebrtc.media.track import AUDIO_PTIME, MediaStreamTrack

__all__ = [
    "AudioFrame",
    "MediaBlackhole",
    "MediaPlayer",
    "MediaRecorder",
    "MediaRelay",
    "VideoFrame",
]

log = logging.getLogger(__name__)

Media: TypeAlias = "AudioFrame | VideoFrame | Packet[Stream]"

# FFmpeg input formats that deliver media as it happens (capture devices, live streams):
# played as fast as they give it. Anything else is paced to real time.
LIVE_FORMATS = frozenset(
    {
        "alsa", "android_camera", "avfoundation", "bktr", "decklink", "dshow", "fbdev",
        "gdigrab", "iec61883", "jack", "kmsgrab", "lavfi", "openal", "oss", "pulse", "rtsp",
        "sndio", "v4l2", "vfwcap", "x11grab",
    }
)  # fmt: skip
# What decode=False can hand on without decoding (what a sender could packetize).
PASSTHROUGH_CODECS = {"audio": {"opus", "pcm_alaw", "pcm_mulaw"}, "video": {"h264", "vp8"}}
PLAYER_RATE = 48000  # Hz: what the player's audio is resampled to
READ_AHEAD = 1.0  # seconds the player's thread may run ahead of real time


async def _drain(track: MediaStreamTrack) -> None:
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return


class MediaBlackhole:
    """A sink that reads its tracks until they end and drops what they give."""

    def __init__(self) -> None:
        self._tasks: dict[MediaStreamTrack, asyncio.Task[None] | None] = {}

    def addTrack(self, track: MediaStreamTrack) -> None:
        self._tasks.setdefault(track, None)

    async def start(self) -> None:
        for track, task in self._tasks.items():
            if task is None:
                self._tasks[track] = asyncio.create_task(_drain(track))

    async def stop(self) -> None:
        for task in self._tasks.values():
            if task is not None:
                task.cancel()
        self._tasks = {}


class _PlayerTrack(MediaStreamTrack):
    """One stream of a :class:`MediaPlayer`; fed by the player's thread."""

    def __init__(self, player: MediaPlayer, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._player: MediaPlayer | None = player
        self._queue: asyncio.Queue[Media | None] = asyncio.Queue()
        self._anchor: float | None = None  # loop time at which media time 0 plays

    async def recv(self) -> Media:
        player = self._player
        if self.readyState != "live" or player is None:
            raise MediaStreamError
        player._start(self)
        item = await self._queue.get()
        if item is None:
            self.stop()
            raise MediaStreamError
        if player.throttled:
            at = _media_time(item)
            if at is not None:
                loop = asyncio.get_running_loop()
                if self._anchor is None:
                    self._anchor = loop.time() - at
                else:
                    wait = self._anchor + at - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
        return item

    def stop(self) -> None:
        super().stop()
        player, self._player = self._player, None
        if player is not None:
            player._stop(self)


def _media_time(item: Media) -> float | None:
    if item.pts is None or item.time_base is None:
        return None
    return float(item.pts * item.time_base)


class MediaPlayer:
    """Plays ``file`` (a path, URL or file object) opened by PyAV with ``format`` and
    ``options`` (FFmpeg's); ``timeout`` bounds opening and reading (seconds)."""

    def __init__(
        self,
        file: Any,
        format: str | None = None,
        options: dict[str, str] | None = None,
        timeout: float | None = None,
        loop: bool = False,
        decode: bool = True,
    ) -> None:
        container = av.open(file, mode="r", format=format, options=options, timeout=timeout)
        self._container: av.container.InputContainer | None = container
        self._decode = decode
        self._streams: list[AudioStream | VideoStream] = []
        self._audio: _PlayerTrack | None = None
        self._video: _PlayerTrack | None = None
        for stream in container.streams:
            if not isinstance(stream, AudioStream | VideoStream):
                continue
            kind = stream.type
            if (self._audio if kind == "audio" else self._video) is not None:
                continue
            if not decode and stream.codec_context.name not in PASSTHROUGH_CODECS[kind]:
                continue
            track = _PlayerTrack(self, kind)
            if kind == "audio":
                self._audio = track
            else:
                self._video = track
            self._streams.append(stream)
        self.throttled = not set(container.format.name.split(",")) & LIVE_FORMATS
        if loop and container.duration is None:
            raise ValueError("loop=True needs an input with a known duration (a file)")
        self._loop_playback = loop
        self._started: set[_PlayerTrack] = set()
        self._thread: threading.Thread | None = None
        self._quit = threading.Event()

    @property
    def audio(self) -> MediaStreamTrack | None:
        """The first audio stream's track, if the input has one."""
        return self._audio

    @property
    def video(self) -> MediaStreamTrack | None:
        """The first video stream's track, if the input has one."""
        return self._video

    def _start(self, track: _PlayerTrack) -> None:
        self._started.add(track)
        if self._thread is None and self._container is not None:
            loop = asyncio.get_running_loop()
            self._thread = threading.Thread(
                target=self._run, args=(loop, self._container), name="media-player", daemon=True
            )
            self._thread.start()

    def _stop(self, track: _PlayerTrack) -> None:
        self._started.discard(track)
        if self._started:
            return
        if self._thread is not None:
            self._quit.set()
            self._thread.join()
            self._thread = None
        if self._container is not None:
            self._container.close()
            self._container = None

    # ------------------------------------------------------------------ the player's thread

    def _run(self, loop: asyncio.AbstractEventLoop, container: av.container.InputContainer) -> None:
        def hand(track: _PlayerTrack | None, item: Media | None) -> None:
            if track is None:
                return
            try:
                loop.call_soon_threadsafe(track._queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is left to play to
                self._quit.set()

        frame_size = int(PLAYER_RATE * AUDIO_PTIME)
        resampler = av.AudioResampler("s16", "stereo", PLAYER_RATE, frame_size)
        samples = 0  # decoded audio's pts: samples handed out so far
        # Anything else keeps its time base, its pts moved to start at 0 and, after each loop
        # of the input, to go on from where the last pass ended.
        origin: dict[str, int] = {}
        offset: dict[str, int] = {}
        last: dict[str, int] = {}
        started = time.monotonic()
        try:
            while not self._quit.is_set():
                try:
                    items = self._next(container)
                except av.FFmpegError as exc:
                    if exc.errno == errno.EAGAIN:  # a device with nothing yet
                        time.sleep(0.01)
                        continue
                    log.info("MediaPlayer(%s) stopped: %s", container.name, exc)
                    break
                if items is None:  # the end of the input
                    if not self._loop_playback:
                        break
                    container.seek(0)
                    offset = {kind: pts + 1 for kind, pts in last.items()}
                    origin = {}
                    continue
                for item in items:
                    if item.pts is None:
                        continue
                    if isinstance(item, AudioFrame):
                        for out in resampler.resample(item):
                            out.pts = samples
                            out.time_base = fractions.Fraction(1, PLAYER_RATE)
                            samples += out.samples
                            hand(self._audio, out)
                        at = samples / PLAYER_RATE
                    else:
                        kind = item.stream.type if isinstance(item, Packet) else "video"
                        if kind not in origin:
                            origin[kind] = item.pts - offset.get(kind, 0)
                        item.pts -= origin[kind]
                        last[kind] = item.pts
                        hand(self._audio if kind == "audio" else self._video, item)
                        at = _media_time(item) or 0.0
                    ahead = at - (time.monotonic() - started)
                    if self.throttled and ahead > READ_AHEAD:
                        time.sleep(min(ahead - READ_AHEAD, 0.1))
        finally:
            hand(self._audio, None)
            hand(self._video, None)

    def _next(self, container: av.container.InputContainer) -> list[Media] | None:
        """The next packet's frames (or the packet itself when not decoding); None at the end."""
        for packet in container.demux(*self._streams):
            if not packet.size:  # the flushing packet at the end
                if self._decode:
                    return _media_frames(packet) or None
                return None
            if not self._decode:
                return [packet]
            return _media_frames(packet)
        return None


def _media_frames(packet: Packet[Stream]) -> list[Media]:
    return [f for f in packet.decode() if isinstance(f, AudioFrame | VideoFrame)]


class MediaRecorder:
    """Writes tracks to ``file`` (a path or file object) in ``format`` (else guessed from the
    name), with FFmpeg ``options``."""

    def __init__(
        self, file: Any, format: str | None = None, options: dict[str, str] | None = None
    ) -> None:
        self._container: av.container.OutputContainer | None = av.open(
            file, mode="w", format=format, options=options
        )
        self._streams: dict[MediaStreamTrack, AudioStream | VideoStream] = {}
        self._tasks: dict[MediaStreamTrack, asyncio.Task[None]] = {}

    def addTrack(self, track: MediaStreamTrack) -> None:
        container = self._container
        if container is None:
            raise MediaStreamError("the recorder is stopped")
        name = container.format.name
        stream: AudioStream | VideoStream
        if track.kind == "audio":
            if name in ("wav", "alsa", "pulse"):
                codec = "pcm_s16le"
            elif name == "mp3":
                codec = "mp3"
            elif name in ("ogg", "opus", "webm"):
                codec = "libopus"
            else:
                codec = "aac"
            audio = container.add_stream(codec, rate=PLAYER_RATE)
            assert isinstance(audio, AudioStream)
            audio.layout = "stereo"
            stream = audio
        else:
            video: VideoStream
            if name == "image2":
                video = container.add_stream("png", rate=30)
                video.pix_fmt = "rgb24"
            else:
                video = container.add_stream("libvpx" if name == "webm" else "libx264", rate=30)
                video.pix_fmt = "yuv420p"
            stream = video
        self._streams[track] = stream

    async def start(self) -> None:
        for track, stream in self._streams.items():
            if track not in self._tasks:
                self._tasks[track] = asyncio.create_task(self._record(track, stream))

    async def stop(self) -> None:
        """Stop reading, flush the encoders and close the file."""
        container = self._container
        if container is None:
            return
        for task in self._tasks.values():
            task.cancel()
        for track, stream in self._streams.items():
            if track in self._tasks and stream.codec_context.is_open:
                for packet in stream.encode(None):
                    container.mux(packet)
        self._tasks = {}
        self._streams = {}
        container.close()
        self._container = None

    async def _record(self, track: MediaStreamTrack, stream: AudioStream | VideoStream) -> None:
        first = True
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            container = self._container
            if container is None:
                return
            if isinstance(frame, VideoFrame) and isinstance(stream, VideoStream):
                if first:  # the file's picture size is the first frame's
                    stream.width, stream.height = frame.width, frame.height
                packets = stream.encode(frame)
            elif isinstance(frame, AudioFrame) and isinstance(stream, AudioStream):
                packets = stream.encode(frame)
            else:
                log.warning("MediaRecorder: %r is not a %s frame; not recorded", frame, track.kind)
                continue
            first = False
            for packet in packets:
                container.mux(packet)


class _RelayedTrack(MediaStreamTrack):
    """A subscriber of a :class:`MediaRelay`: the source's frames, from its first ``recv``."""

    def __init__(self, relay: MediaRelay, source: MediaStreamTrack, buffered: bool) -> None:
        super().__init__()
        self.kind = source.kind
        self._relay: MediaRelay | None = relay
        self._source = source
        self.buffered = buffered
        self._items: deque[Media | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def _put(self, item: Media | None) -> None:
        if not self.buffered and item is not None:
            self._items.clear()  # unbuffered: only the newest frame is kept
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def recv(self) -> Media:
        relay = self._relay
        if self.readyState != "live" or relay is None:
            raise MediaStreamError
        relay._attach(self)
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if item is None:
            self.stop()
            raise MediaStreamError
        return item

    def stop(self) -> None:
        super().stop()
        relay, self._relay = self._relay, None
        if relay is not None:
            relay._detach(self)


class MediaRelay:
    """Reads each source track once and gives every frame to all its subscribers.

    A subscriber gets frames from its first ``recv()`` on; the source is read from the first
    subscriber's first ``recv()`` until it ends (also while no subscriber is left, so that a
    live source does not back up). When the source ends, so do its subscribers.
    ``buffered=False`` subscribers get only the newest frame when they fall behind."""

    def __init__(self) -> None:
        self._subscribers: dict[MediaStreamTrack, set[_RelayedTrack]] = {}
        self._readers: dict[MediaStreamTrack, asyncio.Task[None]] = {}

    def subscribe(self, track: MediaStreamTrack, buffered: bool = True) -> MediaStreamTrack:
        """A new track carrying ``track``'s frames."""
        return _RelayedTrack(self, track, buffered)

    def _attach(self, proxy: _RelayedTrack) -> None:
        source = proxy._source
        self._subscribers.setdefault(source, set()).add(proxy)
        if source not in self._readers:
            self._readers[source] = asyncio.create_task(self._read(source))

    def _detach(self, proxy: _RelayedTrack) -> None:
        subscribers = self._subscribers.get(proxy._source)
        if subscribers is not None:
            subscribers.discard(proxy)

    async def _read(self, source: MediaStreamTrack) -> None:
        try:
            while True:
                try:
                    item: Media | None = await source.recv()
                except MediaStreamError:
                    item = None
                for proxy in list(self._subscribers.get(source, ())):
                    proxy._put(item)
                if item is None:
                    return
        finally:
            del self._readers[source]
            self._subscribers.pop(source, None)
