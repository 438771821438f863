"""The video half of the media plane: one :class:`VideoLink` per video transceiver.

A link owns the transceiver's sans-IO :class:`~pywebrtc.media.video.session.VideoSession` (RTP
packetization, NACK/RTX, PLI/FIR, the video jitter buffer), its encoder and its decoders
(:mod:`pywebrtc.media.video.codecs`, through PyAV), and two tasks:

* the sender task awaits ``track.recv()``; an ``av.VideoFrame`` is encoded in a worker thread
  (``loop.run_in_executor``): one encoder per link, never two calls on it at once, even across
  a ``replaceTrack`` (the next call waits for the one in flight). A ``KeyframeRequested``
  from the session (the remote's PLI or FIR, RFC 4585 §6.3.1, RFC 5104 §4.3.1) is answered at
  once when the encoder is idle: the last picture taken from the track is encoded again as a
  keyframe, stamped a little later (at most half-way to the next frame's expected timestamp),
  rather than waiting up to a frame interval for the track's next frame; otherwise the next
  encode is a keyframe. A track that yields encoded frames (an
  :class:`~pywebrtc.media.video.EncodedVideoFrame`, or an ``av.Packet`` with ``pts`` in 90 kHz
  units and ``is_keyframe``, as :class:`~pywebrtc.media.EncodedVideoTrack` gives them) is sent as
  it is, without transcoding; such frames must be in the negotiated send codec. Such a sender
  starts at a keyframe and, after a keyframe request, drops frames until the next one, asking
  the track for it (``request_keyframe()``, which an ``EncodedVideoTrack`` turns into a PLI to
  its own sender).
* the decode task takes the frames the session assembled, decodes them in a worker thread (one
  decoder per codec, one call at a time) and pushes the ``av.VideoFrame`` s into the remote
  :class:`~pywebrtc.media.RemoteVideoTrack`. The frames waiting for the decoder are a
  :class:`~pywebrtc.media.video.decode_queue.DecodeQueue`: a burst (NACK repairs after an
  outage, a process starved of CPU for a while) is decoded; a backlog that would take the
  decoder more than its budget is dropped and a keyframe asked for, as for a frame the decoder
  rejects, and no delta frame is decoded until it comes. In raw mode (``decode=False``) frames
  go to the :class:`~pywebrtc.media.EncodedVideoTrack` as ``av.Packet`` s and nothing is
  decoded.

The transport's bandwidth estimate reaches the link as :attr:`VideoLink.target_bitrate` (set
by the media plane, :mod:`pywebrtc.rtp.bwe.transport`): each encode first sets the encoder to
it, at the frame rate :func:`~pywebrtc.rtp.bwe.transport.video_framerate` allows for the frame's
size, within :attr:`VideoLink.max_framerate`. The RTP packets the session makes (new media
and retransmissions) go through a :class:`~pywebrtc.rtp.pacer.Pacer` paced at 2.5 times that
target (unpaced without an estimate); RTCP does not wait behind them. When the pacer drops a
queue that would take more than 2 s to send (the target collapsed), the next frame is a
keyframe. A packet takes its
transport-wide sequence number (from the transport's shared counter) and its abs-send-time as it
leaves the pacer, not when it was made, so that the estimator sees the order and times of the
wire. Every datagram the link sends also goes to :attr:`VideoLink.on_sent` (the estimator reads
its transport-wide sequence number).

The link keeps the counters the session cannot know (frames encoded and decoded, keyframes
decoded, qpSum, sizes, frame rates) and merges them into the session's getStats entries.
"""

from __future__ import annotations

import asyncio
import copy
import fractions
import functools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import av
from av.stream import Stream

from pywebrtc.media.track import (
    EncodedVideoTrack,
    MediaStreamError,
    MediaStreamTrack,
    RemoteVideoTrack,
)
from pywebrtc.media.video import VIDEO_CLOCK, EncodedVideoFrame, VideoCodec
from pywebrtc.media.video.codecs import (
    DEFAULT_FRAMERATE,
    VideoDecoder,
    VideoEncoder,
    create_decoder,
    create_encoder,
)
from pywebrtc.media.video.decode_queue import DecodeQueue
from pywebrtc.media.video.session import (
    KeyframeRequested,
    Retransmission,
    VideoFrameReceived,
    VideoSession,
    VideoSessionConfig,
)
from pywebrtc.rtp.bwe.transport import video_framerate
from pywebrtc.rtp.extensions import abs_send_time_from_seconds, extension_value_offset
from pywebrtc.rtp.pacer import Pacer
from pywebrtc.rtp.packet import RtpPacket
from pywebrtc.rtp.rtcp import RtcpPacket
from pywebrtc.rtp.sender import TransportSequence
from pywebrtc.transmit import Transmit

logger = logging.getLogger(__name__)

_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
_R = TypeVar("_R")

StatsEntry = dict[str, float | int | str | None]


class _Rate:
    """Frames per second over the last second of RTP timestamps (webrtc-stats
    ``framesPerSecond``)."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def add(self, now: float) -> None:
        self.times.append(now)
        while self.times and self.times[0] < now - 1.0:
            self.times.popleft()

    def value(self, now: float) -> float | None:
        while self.times and self.times[0] < now - 1.0:
            self.times.popleft()
        return float(len(self.times)) if self.times else None


@dataclass(frozen=True, slots=True)
class _LastPicture:
    """The last picture encoded from the track: its timestamp (90 kHz), the next frame's
    expected one, and when it was sent (the link's clock)."""

    picture: av.VideoFrame
    timestamp: int
    next_timestamp: int
    sent_at: float


@dataclass(frozen=True, slots=True)
class _Decoding:
    """A frame in the decoder's thread since ``start`` (the link's clock)."""

    frame: EncodedVideoFrame
    start: float
    future: asyncio.Future[list[av.VideoFrame]]


class _Worker:
    """Calls on one codec object in worker threads, one at a time, in call order: a caller
    cancelled while its call runs does not let the next one start before it ends."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending: asyncio.Future[object] | None = None

    async def run(self, fn: Callable[[], _R]) -> _R:
        while (pending := self.pending) is not None and not pending.done():
            await asyncio.wait([pending])
        loop = asyncio.get_running_loop()
        if loop.is_closed() or getattr(loop, "_executor_shutdown_called", False):
            raise asyncio.CancelledError  # the loop is shutting down: nothing to run on
        future: asyncio.Future[_R] = loop.run_in_executor(None, fn)
        self.pending = future  # type: ignore[assignment]
        await asyncio.wait([future])  # (as shield: a cancelled caller leaves the call running)
        return _outcome(future)

    def busy(self) -> bool:
        return self.pending is not None and not self.pending.done()

    def submit(self, fn: Callable[[], _R]) -> asyncio.Future[_R] | None:
        """Start ``fn`` in a worker thread now, unless a call is in flight (None)."""
        if self.busy():
            return None
        loop = asyncio.get_running_loop()
        if loop.is_closed() or getattr(loop, "_executor_shutdown_called", False):
            return None
        future: asyncio.Future[_R] = loop.run_in_executor(None, fn)
        self.pending = future  # type: ignore[assignment]
        return future

    def after(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the call in flight (if any) is over."""
        pending = self.pending
        if pending is None or pending.done():
            fn()
        else:
            pending.add_done_callback(lambda _: fn())


class VideoLink:
    """One video transceiver's session, codecs and tasks (see the module docstring)."""

    def __init__(
        self,
        config: VideoSessionConfig,
        clock: Callable[[], float],
        wake: Callable[[], None],
        out: list[bytes],
        track: RemoteVideoTrack | EncodedVideoTrack,
        *,
        ntp_offset: float = 0.0,
        transport_sequence: TransportSequence | None = None,
    ) -> None:
        self.config = config
        self._ntp_offset = ntp_offset
        self._transport_sequence = transport_sequence
        # the session numbers its packets from a counter of its own; the shared number is
        # written as the packet leaves the pacer (see _stamp)
        self._placeholder_sequence = TransportSequence(0)
        self.pacer = Pacer()
        self.session = self._new_session(config)
        self._clock = clock
        self._wake = wake
        self._out = out
        self._track = track
        if isinstance(track, EncodedVideoTrack):
            track.on_keyframe_request = self.request_keyframe
        self._encoder: VideoEncoder | None = None
        self._encoder_codec: VideoCodec | None = None
        self._encode_worker = _Worker()
        self._decoders: dict[str, VideoDecoder] = {}
        self._decode_worker = _Worker()
        self._keyframe_wanted = True
        self.frames_in_wrong_codec = 0  # pass-through frames not in the send codec: dropped
        # the last picture encoded from the track, to answer a keyframe request with at once
        self._last_picture: _LastPicture | None = None
        self._keyframe_task: asyncio.Future[None] | None = None
        self.send_task: asyncio.Future[None] | None = None
        self._sending: MediaStreamTrack | None = None
        self._decode_queue = DecodeQueue()
        self._decode_task: asyncio.Future[None] | None = None
        self.closed = False
        self.on_sent: Callable[[bytes, float], None] | None = None  # every datagram sent
        self._target_bitrate: int | None = None
        self.max_framerate = DEFAULT_FRAMERATE
        # counters for getStats the session does not keep
        self.frames_encoded = 0
        self.keyframes_encoded = 0
        self.decode_errors = 0
        self._last_codec: str | None = None
        self._sent_rate = _Rate()
        self._decoded_rate = _Rate()

    # ------------------------------------------------------------------ configuration

    def _new_session(self, config: VideoSessionConfig) -> VideoSession:
        sequence = self._placeholder_sequence if self._transport_sequence is not None else None
        return VideoSession(config, ntp_offset=self._ntp_offset, transport_sequence=sequence)

    @property
    def target_bitrate(self) -> int | None:
        """The encoder's share of the estimate (bit/s); the pacer sends at 2.5 times it."""
        return self._target_bitrate

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int | None) -> None:
        self._target_bitrate = bitrate
        self.pacer.set_target(bitrate)

    @property
    def receive_payload_type(self) -> int | None:
        """The payload type of the last frame decoded, else the first receive codec's."""
        key = self._last_codec
        codecs = self.config.receive_codecs
        if key is not None:
            pt = next((pt for pt, c in codecs.items() if c.key == key), None)
            if pt is not None:
                return pt
        return next(iter(codecs), None)

    def reconfigure(self, config: VideoSessionConfig) -> None:
        """A renegotiation changed the section: a new session (counters start again; no BYE:
        the SSRC goes on); the codecs stay unless the send codec changed."""
        if config == self.config:
            return
        now = self._clock()
        self.flush(now)
        self._release(now, everything=True)  # stamped with the ids they were made for
        self.config = config
        self.session = self._new_session(config)
        if config.send_codec != self._encoder_codec:
            self._drop_encoder()
        self._keyframe_wanted = True

    def _drop_encoder(self) -> None:
        self._last_picture = None
        encoder, self._encoder, self._encoder_codec = self._encoder, None, None
        if encoder is not None:
            self._encode_worker.after(encoder.close)

    # ------------------------------------------------------------------ sending

    def start_sender(self, track: MediaStreamTrack | None) -> None:
        """Send ``track`` (None: send nothing). The same track keeps its running task."""
        if track is not None and track is self._sending and self.send_task is not None:
            return
        self.stop_sender()
        if track is None or self.closed:
            return
        self._sending = track
        self._keyframe_wanted = True  # a new source starts with a keyframe
        self.send_task = asyncio.ensure_future(self._run_sender(track))

    def stop_sender(self) -> None:
        if self.send_task is not None:
            self.send_task.cancel()
            self.send_task = None
        if self._keyframe_task is not None:
            self._keyframe_task.cancel()
            self._keyframe_task = None
        self._sending = None
        self._last_picture = None

    async def _run_sender(self, track: MediaStreamTrack) -> None:
        while not self.closed:
            try:
                item = await track.recv()
            except MediaStreamError:
                return
            if self.closed:
                return
            codec = self.config.send_codec
            if codec is None:
                continue
            encoded: list[EncodedVideoFrame]
            if isinstance(item, av.VideoFrame):
                encoded = await self._encode(codec, item)
                if encoded and not self.closed:
                    self._remember(item, encoded[-1].timestamp)
            elif isinstance(item, EncodedVideoFrame | av.Packet):
                frame = item if isinstance(item, EncodedVideoFrame) else _from_packet(item, codec)
                if self._keyframe_wanted and not frame.keyframe:
                    # Pass-through cannot make a keyframe: the receiver waits for one (new, or
                    # after a loss); ask the track's source for it, send nothing till then.
                    request = getattr(track, "request_keyframe", None)
                    if callable(request):
                        request()
                    continue
                self._keyframe_wanted = False
                encoded = [frame]
            else:
                logger.warning("a video track gave %s: not sent", type(item).__name__)
                continue
            if self.closed:
                return
            self._send(codec, encoded)

    def _send(self, codec: VideoCodec, encoded: list[EncodedVideoFrame]) -> None:
        now = self._clock()
        for frame in encoded:
            if frame.codec != codec.key:
                if not self.frames_in_wrong_codec:  # once: it is every frame of the stream
                    logger.warning("%s frames on a %s sender: not sent (pass-through cannot "
                                   "transcode; answer with the codec they come in)",
                                   frame.codec, codec.key)  # fmt: skip
                self.frames_in_wrong_codec += 1
                continue
            self.session.send_encoded(frame, now)
            self._sent_rate.add(now)
        self.flush(now)
        self._wake()

    def _remember(self, picture: av.VideoFrame, timestamp: int) -> None:
        last = self._last_picture
        interval = timestamp - last.timestamp if last is not None else 0
        if not 0 < interval < VIDEO_CLOCK:
            interval = VIDEO_CLOCK // 30
        self._last_picture = _LastPicture(picture, timestamp, timestamp + interval, self._clock())

    def _keyframe_at_once(self) -> None:
        """A keyframe was asked for: encode the last picture again as one now, if the encoder
        is idle (else the next frame is the keyframe)."""
        if (
            self._last_picture is None
            or self.closed
            or self._encode_worker.busy()
            or (self._keyframe_task is not None and not self._keyframe_task.done())
        ):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # driven without a loop (no sender task either)
            return
        self._keyframe_task = asyncio.ensure_future(self._send_keyframe_now())

    async def _send_keyframe_now(self) -> None:
        last, codec, encoder = self._last_picture, self.config.send_codec, self._encoder
        if (
            last is None
            or codec is None
            or encoder is None
            or codec != self._encoder_codec
            or not self._keyframe_wanted
            or self._encode_worker.busy()  # the track's next frame came first: it is the one
            or self.closed
        ):
            return
        # The same picture shown a little later: after the last timestamp sent, before the
        # next frame's (an encoder takes only increasing timestamps).
        elapsed = round((self._clock() - last.sent_at) * VIDEO_CLOCK)
        step = min(max(elapsed, 1), (last.next_timestamp - last.timestamp) // 2)
        if step < 1:
            return
        timestamp = last.timestamp + step
        self._last_picture = _LastPicture(
            last.picture, timestamp, last.next_timestamp, last.sent_at
        )
        picture = last.picture
        self._keyframe_wanted = False

        def again() -> list[EncodedVideoFrame]:
            saved = picture.pts, picture.time_base
            picture.pts, picture.time_base = timestamp, _TIME_BASE
            try:
                return encoder.encode(picture, True)
            finally:
                picture.pts = saved[0]
                if saved[1] is not None:
                    picture.time_base = saved[1]

        try:
            encoded = await self._encode_worker.run(again)
        except ValueError as exc:
            logger.warning("video encoder failed: %s", exc)
            self._keyframe_wanted = True
            return
        if self.closed or self._last_picture is None:
            return  # stopped or replaced meanwhile
        if not any(e.keyframe for e in encoded):
            self._keyframe_wanted = True
        self.frames_encoded += len(encoded)
        self.keyframes_encoded += sum(1 for e in encoded if e.keyframe)
        if encoded and not encoded[0].width:
            encoded = [_sized(e, (picture.width, picture.height)) for e in encoded]
        self._send(codec, encoded)

    async def _encode(self, codec: VideoCodec, frame: av.VideoFrame) -> list[EncodedVideoFrame]:
        if self._encoder is None or self._encoder_codec != codec:
            self._drop_encoder()
            self._encoder = create_encoder(codec)
            self._encoder_codec = codec
            self._keyframe_wanted = True
        encoder = self._encoder
        force, self._keyframe_wanted = self._keyframe_wanted, False
        target = None
        if (bitrate := self.target_bitrate) is not None:
            fps = video_framerate(bitrate, frame.width, frame.height, self.max_framerate)
            target = (bitrate, fps)
        try:
            encoded = await self._encode_worker.run(
                lambda: _encode_at(encoder, frame, force, target)
            )
        except ValueError as exc:
            logger.warning("video encoder failed: %s", exc)
            self._keyframe_wanted = True
            return []
        self.frames_encoded += len(encoded)
        self.keyframes_encoded += sum(1 for e in encoded if e.keyframe)
        if encoded and not encoded[0].width:
            size = (frame.width, frame.height)
            encoded = [_sized(e, size) for e in encoded]
        return encoded

    # ------------------------------------------------------------------ receiving

    def receive_packet(self, packet: RtpPacket, now: float) -> None:
        self.session.receive_packet(packet, now)
        self.flush(now)

    def receive_rtcp(self, packets: list[RtcpPacket], now: float) -> None:
        self.session.receive_rtcp_packets(packets, now)
        self.flush(now)

    def _on_frame(self, frame: EncodedVideoFrame) -> None:
        track = self._track
        if isinstance(track, EncodedVideoTrack):
            track.push_packet(_to_packet(frame))
            return
        queue = self._decode_queue
        if queue.push(frame):
            self.request_keyframe()
        if queue and (self._decode_task is None or self._decode_task.done()):
            # The decoder's thread starts on the frame now: the event loop may have a burst of
            # packets (retransmissions after an outage) to read before a new task would run.
            self._decode_task = asyncio.ensure_future(self._run_decoder(self._start_decode()))

    def request_keyframe(self) -> None:
        """Ask the remote sender for a keyframe (a PLI or FIR, rate-limited by the session)."""
        if self.closed:
            return
        now = self._clock()
        self.session.request_keyframe(now)
        self.flush(now)
        self._wake()

    def _start_decode(self) -> _Decoding | None:
        """Hand the next waiting frame to the decoder's thread (None: no frame waits, or the
        decoder is busy)."""
        queue = self._decode_queue
        if self._decode_worker.busy():
            return None
        while (frame := queue.pop()) is not None:
            decoder = self._decoder(frame.codec)
            if decoder is None:
                continue
            start = self._clock()
            future = self._decode_worker.submit(functools.partial(decoder.decode, frame))
            if future is None:
                queue.frames.appendleft(frame)
                return None
            return _Decoding(frame, start, future)
        return None

    async def _run_decoder(self, started: _Decoding | None) -> None:
        queue = self._decode_queue
        track = self._track
        while not self.closed:
            decoding, started = started or self._start_decode(), None
            if decoding is None:
                pending = self._decode_worker.pending
                if not queue or pending is None or pending.done():
                    return
                await asyncio.wait([pending])  # a call still in flight (a decoder closing)
                continue
            frame, start = decoding.frame, decoding.start
            try:
                await asyncio.wait([decoding.future])
                frames = _outcome(decoding.future)
            except ValueError as exc:
                logger.info("video decoder rejected a frame: %s", exc)
                self.decode_errors += 1
                # what waits is delta frames (a keyframe empties the queue): they reference it
                if queue.rejected():
                    self.request_keyframe()
                continue
            if self.closed:
                return
            now = self._clock()
            queue.decoded(now - start)
            self._last_codec = frame.codec
            for decoded in frames:
                self.session.frame_decoded(decoded.width, decoded.height, keyframe=frame.keyframe)
                self._decoded_rate.add(now)
                if isinstance(track, RemoteVideoTrack):
                    track.push_frame(decoded)

    def _decoder(self, key: str) -> VideoDecoder | None:
        decoder = self._decoders.get(key)
        if decoder is None:
            codec = next((c for c in self.config.receive_codecs.values() if c.key == key), None)
            if codec is None:
                return None
            decoder = self._decoders[key] = create_decoder(codec)
        return decoder

    # ------------------------------------------------------------------ timer and events

    def deadline(self) -> float | None:
        best = self.session.deadline()
        paced = self.pacer.deadline()
        if paced is not None and (best is None or paced < best):
            best = paced
        return best

    def tick(self, now: float) -> None:
        self.session.tick(now)
        self.flush(now)

    def flush(self, now: float) -> None:
        out = self._out
        pacer = self.pacer
        on_sent = self.on_sent
        while (event := self.session.poll()) is not None:
            kind = type(event)
            if kind is Transmit or kind is Retransmission:
                assert isinstance(event, Transmit)
                data = event.data
                if 192 <= data[1] <= 223:  # RTCP (RFC 5761 §4): never behind video
                    out.append(data)
                    if on_sent is not None:
                        on_sent(data, now)
                else:
                    pacer.enqueue(data, now, retransmission=kind is Retransmission)
            elif isinstance(event, VideoFrameReceived):
                self._on_frame(event.frame)
            elif isinstance(event, KeyframeRequested):
                self._keyframe_wanted = True
                self._keyframe_at_once()
            else:
                logger.debug("video session event %r", event)
        self._release(now)

    def _release(self, now: float, *, everything: bool = False) -> None:
        """Send what the pacer lets go by ``now`` (all that waits if ``everything``)."""
        pacer = self.pacer
        if everything:
            pacer.release_all()
        else:
            pacer.tick(now)
        out = self._out
        on_sent = self.on_sent
        while (data := pacer.poll()) is not None:
            data = self._stamp(data, now)
            out.append(data)
            if on_sent is not None:
                on_sent(data, now)
        if pacer.keyframe_needed:  # what waited was dropped: start again from a keyframe
            pacer.keyframe_needed = False
            self._keyframe_wanted = True
            self._keyframe_at_once()

    def _stamp(self, data: bytes, now: float) -> bytes:
        """The packet as it leaves: the transport-wide number and abs-send-time of now."""
        shared = self._transport_sequence
        ids = self.config.extension_ids
        if (shared is None or ids.transport_cc is None) and ids.abs_send_time is None:
            return data
        packet = bytearray(data)
        if shared is not None and ids.transport_cc is not None:
            found = extension_value_offset(packet, ids.transport_cc)
            if found is not None and found[1] == 2:
                packet[found[0] : found[0] + 2] = shared.take().to_bytes(2)
        if ids.abs_send_time is not None:
            found = extension_value_offset(packet, ids.abs_send_time)
            if found is not None and found[1] == 3:
                packet[found[0] : found[0] + 3] = abs_send_time_from_seconds(now).to_bytes(3)
        return bytes(packet)

    def close(self) -> None:
        if self.closed:
            return
        self.stop_sender()
        now = self._clock()
        self.session.close(now)
        self.pacer.clear()  # (media not sent yet: the receiver will not wait for it)
        self.flush(now)
        self.closed = True
        if self._decode_task is not None:
            self._decode_task.cancel()
            # (a cancelled task keeps its CancelledError, whose traceback holds this link)
            self._decode_task = None
        self._decode_queue.clear()
        self._drop_encoder()
        for decoder in self._decoders.values():
            self._decode_worker.after(decoder.close)
        # Let go of what refers back to this link, so that a closed link (and the peer
        # connection its callbacks reach) is freed by reference counting: on_sent is bound to
        # it, and the receiving track's keyframe request is our method.
        self.on_sent = None
        track = self._track
        if (
            isinstance(track, EncodedVideoTrack)
            and track.on_keyframe_request == self.request_keyframe
        ):
            track.on_keyframe_request = None

    # ------------------------------------------------------------------ stats

    def stats(self) -> list[StatsEntry]:
        """The session's entries with the codec-side counters added (webrtc-stats §8.3-8.4)."""
        now = self._clock()
        entries = self.session.stats()
        qp_sums = [d.stats.qp_sum for d in self._decoders.values() if d.stats.qp_sum is not None]
        for entry in entries:
            if entry.get("type") == "inbound-rtp":
                entry["framesPerSecond"] = self._decoded_rate.value(now)
                if qp_sums:
                    entry["qpSum"] = sum(qp_sums)
                dropped = entry.get("framesDropped")
                entry["framesDropped"] = (
                    int(dropped) if isinstance(dropped, int | float) else 0
                ) + self._decode_queue.dropped
            elif entry.get("type") == "outbound-rtp":
                entry["framesEncoded"] = self.frames_encoded
                entry["keyFramesEncoded"] = self.keyframes_encoded
                entry["framesPerSecond"] = self._sent_rate.value(now)
                if self._encoder is not None:
                    entry["targetBitrate"] = self._encoder.target_bitrate
        return entries


def _outcome(future: asyncio.Future[_R]) -> _R:
    """The result of a call done in a worker thread, or a copy of its exception raised: the
    exception the future keeps must not take the traceback of the frames it passes through
    (they hold the future, and the link: a cycle the collector alone would free)."""
    error = future.exception()
    if error is None:
        return future.result()
    try:
        duplicate = copy.copy(error)
    except Exception:  # (not rebuilt from its args: raised as it is, cycle and all)
        raise error from None
    try:
        raise duplicate from error
    finally:
        del duplicate  # (this frame is in its traceback)


def _encode_at(
    encoder: VideoEncoder, frame: av.VideoFrame, force: bool, target: tuple[int, float] | None
) -> list[EncodedVideoFrame]:
    """In the encoder's worker: apply the target (bit/s, frames a second), then encode."""
    if target is not None:
        encoder.set_target(*target)
    return encoder.encode(frame, force)


def _sized(frame: EncodedVideoFrame, size: tuple[int, int]) -> EncodedVideoFrame:
    return EncodedVideoFrame(
        frame.data, frame.timestamp, frame.keyframe, frame.codec, size[0], size[1]
    )


def _from_packet(packet: av.Packet[Stream], codec: VideoCodec) -> EncodedVideoFrame:
    """An encoded frame from an ``av.Packet`` (pass-through): ``pts`` on the 90 kHz clock
    unless its ``time_base`` says otherwise."""
    pts = int(packet.pts or 0)
    base = packet.time_base
    if base is not None and base != _TIME_BASE:
        pts = int(pts * base * VIDEO_CLOCK)
    return EncodedVideoFrame(bytes(packet), pts & 0xFFFFFFFF, bool(packet.is_keyframe), codec.key)


def _to_packet(frame: EncodedVideoFrame) -> av.Packet[Stream]:
    packet = av.Packet(frame.data)
    packet.pts = frame.timestamp
    packet.time_base = _TIME_BASE
    packet.is_keyframe = frame.keyframe
    return packet


__all__ = ["VideoLink"]
