"""One video RTP session (one m-section) as a sans-IO object: encoded frames and packets in,
packets, encoded frames and events out. The video counterpart of
:class:`~pywebrtc.media.pipeline.AudioSession`; encoding and decoding are not here (the asyncio
layer runs the codecs of :mod:`pywebrtc.media.video.codecs` off the event loop).

Send: ``send_encoded(EncodedVideoFrame)`` → packetize (VP8 RFC 7741, VP9 RFC 9628, H.264
RFC 6184 packetization-mode 1, AV1 as the AOM RTP specification says) → RTP (SSRC, sequence,
timestamp, marker on the frame's last packet, header extensions) → interceptors (reports,
retransmission buffer) → :class:`Transmit`.
A NACK (RFC 4585 §6.2.1) is answered from the retransmission buffer: on the RTX stream when
one was negotiated (RFC 4588 §4: the original sequence number, OSN, before the original
payload, on the RTX SSRC and payload type, with a sequence number of its own), else by sending
the packet again as it was. A PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1) about our SSRC
raises :class:`KeyframeRequested`: the encoder side makes the next frame a keyframe.

Receive: RTP → RTX unwrapped into the packet it repairs → SSRC / payload-type check →
interceptors (RFC 3550 statistics and reports, NACK generation) → frame assembler
(:class:`~pywebrtc.rtp.video.FrameAssembler` with the codec's part: reordering, waiting
``max_delay`` for a missing packet, holding delta frames back after an unrecoverable loss
until a keyframe) → :class:`VideoFrameReceived`. When the assembler needs a keyframe the
session sends a PLI (or a FIR when only that was negotiated), at most one per
``max(RTT, keyframe_interval)``, and again while none comes. A hole no retransmission can fill
(longer than a sender keeps packets, or past what NACK generation asks about) is given up as
soon as the packet after it shows it, not ``max_delay`` later.

Driving it (str0m style)::

    session.receive(datagram, now)          # plain RTP/RTCP (SRTP is the transport's)
    session.send_encoded(frame, now)        # from the encoder (or a forwarded frame)
    session.tick(now)                       # at or after session.deadline()
    while (out := session.poll()) is not None:
        if isinstance(out, Transmit): transport.send(out.data)
        elif isinstance(out, VideoFrameReceived): decoder_queue.put(out.frame)
        elif isinstance(out, KeyframeRequested): encoder.force_keyframe()

Bad input (malformed RTP/RTCP or payloads, unknown SSRCs and payload types) is dropped and
counted in :attr:`VideoSession.drops`; the session continues. Nothing here reads a clock.
Left out: transport-wide CC feedback (a transport's, not a section's: see
:mod:`pywebrtc.rtp.twcc_feedback`), simulcast and spatial layers, ULPFEC/FlexFEC.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from pywebrtc.rtp import RtcpParseError, RtpPacket, RtpParseError
from pywebrtc.rtp.interceptor import InterceptorChain
from pywebrtc.rtp.nack_generator import NackGenerator
from pywebrtc.rtp.reports import RtcpReporter
from pywebrtc.rtp.retransmit_buffer import RetransmitBuffer
from pywebrtc.rtp.rtcp import Fir, FirEntry, Nack, Pli, RtcpPacket, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.sender import ExtensionIds, RtpSender, TransportSequence
from pywebrtc.rtp.video import (
    AssembledFrame,
    FrameAssembler,
    H264Format,
    H264Part,
    H264Payloader,
    KeyframeNeeded,
    PayloadChunk,
    packetize_vp8,
    packetize_vp9,
    payload_format,
)
from pywebrtc.rtp.video.av1 import packetize_av1
from pywebrtc.transmit import Transmit

from ..pipeline import RemoteEnded
from . import VIDEO_CLOCK, EncodedVideoFrame, VideoCodec

__all__ = [
    "KeyframeRequested",
    "RemoteEnded",
    "Retransmission",
    "Transmit",
    "VideoDropCounters",
    "VideoEvent",
    "VideoFrameReceived",
    "VideoSession",
    "VideoSessionConfig",
]

log = logging.getLogger(__name__)

_PICTURE_ID_MASK = 0x7FFF  # VP8/VP9 15-bit picture ID (RFC 7741 §4.2, RFC 9628 §4.2)
_OSN_SIZE = 2  # RFC 4588 §4: the original sequence number before the payload
_SOURCE_TIMEOUT = 2.0  # a learned remote SSRC silent this long may be replaced
_RETRANSMIT_SLOTS = 1024  # ~1 s of packets at 8 Mbit/s with 1200-byte payloads
# How old a packet may be and still be resent (the ring's size bounds it at high rates):
# libwebrtc keeps its sent packets up to 3 s (RtpPacketHistory's culling delay), and its NACK
# module asks again for a packet whose retransmission was lost. After a 1 s outage the packets
# sent in it are already ~1 s old when asked for, and their lost retransmissions older still:
# at 1 s Chromium got no answer and sat frozen ~2 s until it gave up and sent a PLI.
_RETRANSMIT_AGE = 3.0
_UNANSWERABLE_INTERVAL = 1.0  # seconds between keyframes sent for NACKs we cannot answer
_REORDER_WAIT = 0.05  # how long a hole may be reordering, not loss (without NACK)
# A hole spanning this much RTP time is beyond repair: its first packets are older than a
# sender's packet history (libwebrtc's and ours: 3 s) by the time a NACK reaches it.
_UNREPAIRABLE_SPAN = int(_RETRANSMIT_AGE * VIDEO_CLOCK)


@dataclass(frozen=True, slots=True)
class Retransmission(Transmit):
    """A packet sent again for a NACK (RFC 4585 §6.2.1; on the RTX stream when there is one):
    a pacer sends it ahead of new media."""


@dataclass(frozen=True, slots=True)
class VideoFrameReceived:
    """One complete encoded frame for the decoder (in sequence order; after a loss, the next
    one is a keyframe)."""

    frame: EncodedVideoFrame


@dataclass(frozen=True, slots=True)
class KeyframeRequested:
    """The remote asked for a keyframe (``reason`` "pli" or "fir"), or NACKed a packet we no
    longer hold ("nack"): encode the next frame as one."""

    reason: str


VideoEvent = VideoFrameReceived | KeyframeRequested | RemoteEnded


@dataclass(slots=True)
class VideoDropCounters:
    malformed_rtp: int = 0
    malformed_rtcp: int = 0
    unknown_ssrc: int = 0
    unknown_payload_type: int = 0
    unsupported_codec: int = 0  # negotiated, but no depacketizer here
    rtx_without_source: int = 0  # RTX before the media SSRC is known, or padding-only RTX


@dataclass(frozen=True, slots=True)
class VideoSessionConfig:
    """What negotiation decided for one video m-section.

    ``send_codec`` None: we do not send; ``receive_codecs`` empty: we do not receive (keyed by
    payload type; a codec's ``rtx_payload_type`` is its RTX type, RFC 4588 ``apt``). ``rtx_ssrc``
    None: no RTX stream of ours (NACKs are answered by resending the packet as it was).
    ``nack``/``pli``/``fir``: the rtcp-fb values the remote negotiated ("nack", "nack pli",
    "ccm fir"): with ``nack`` we keep a retransmission buffer and send NACKs; keyframe requests
    go out as PLI, else FIR, else not at all. ``mid`` is written with ``extension_ids.mid``.
    ``mtu``: the RTP payload budget of one packet. ``max_delay``: how long the assembler waits
    for a missing packet (its NACK retransmission) before giving it up (without NACK, 50 ms).
    ``remote_ssrc`` None: accept the first media SSRC that arrives, then only that one;
    ``remote_rtx_ssrc`` None: accept RTX (by payload type) from any SSRC.
    ``keyframe_interval``: the least time between two keyframe requests (raised to the RTT
    when that is longer).
    """

    ssrc: int
    cname: str
    send_codec: VideoCodec | None = None
    receive_codecs: Mapping[int, VideoCodec] = field(default_factory=dict)
    rtx_ssrc: int | None = None
    nack: bool = True
    pli: bool = True
    fir: bool = False
    mid: str | None = None
    extension_ids: ExtensionIds = field(default_factory=ExtensionIds)
    mtu: int = 1200
    max_delay: float = 0.5
    remote_ssrc: int | None = None
    remote_rtx_ssrc: int | None = None
    keyframe_interval: float = 0.3
    min_rtcp_interval: float = 1.0


class VideoSession:
    def __init__(
        self,
        config: VideoSessionConfig,
        *,
        ntp_offset: float = 0.0,
        transport_sequence: TransportSequence | None = None,
        rng: random.Random | None = None,
    ) -> None:
        rng = rng or random.Random()
        self.config = config
        self.drops = VideoDropCounters()
        self.sender: RtpSender | None = None
        codec = config.send_codec
        if codec is not None:
            self.sender = RtpSender(
                config.ssrc, codec.payload_type, VIDEO_CLOCK,
                extension_ids=config.extension_ids, mid=config.mid,
                transport_sequence=transport_sequence, rng=rng,
            )  # fmt: skip
        self.reporter = RtcpReporter(
            config.ssrc, config.cname, sender=self.sender, clock_rate=VIDEO_CLOCK,
            ntp_offset=ntp_offset, min_interval=config.min_rtcp_interval,
            session_bandwidth=1_000_000.0, rng=rng,
        )  # fmt: skip
        self.chain = InterceptorChain([self.reporter])
        self.retransmit: RetransmitBuffer | None = None
        self.nack: NackGenerator | None = None
        if config.nack and self.sender is not None:
            self.retransmit = RetransmitBuffer(
                config.ssrc, size=_RETRANSMIT_SLOTS, max_age=_RETRANSMIT_AGE
            )
            self.chain.add(self.retransmit)
        if config.nack and config.receive_codecs:
            self.nack = NackGenerator(config.ssrc, config.remote_ssrc)
            self.chain.add(self.nack)
        self.remote_ssrc = config.remote_ssrc
        self._rtx_apt = {
            c.rtx_payload_type: pt
            for pt, c in config.receive_codecs.items()
            if c.rtx_payload_type is not None
        }
        self._rtx_sequence = rng.randrange(0, 0x8000)
        self._picture_id = rng.randrange(0, _PICTURE_ID_MASK + 1)
        self._h264 = H264Payloader(config.mtu)
        self._assembler: FrameAssembler[PayloadChunk] | FrameAssembler[H264Part] | None = None
        self._assembler_pt: int | None = None
        self._last_packet: float | None = None
        self._newest: tuple[int, int] | None = None  # (sequence, timestamp) of the newest packet
        self._keyframe_sent_at: float | None = None  # our last PLI/FIR
        self._keyframe_pending = False  # a request held back by the rate limit
        self._fir_sequence = 0
        self._fir_seen: dict[int, int] = {}  # remote sender SSRC -> last FIR sequence acted on
        self._unanswerable_keyframe_at: float | None = None  # our last keyframe for a NACK
        self._transmits: deque[Transmit] = deque()
        self._events: deque[VideoEvent] = deque()
        self.closed = False
        # W3C webrtc-stats counters the components below do not keep
        self.frames_received = 0
        self.key_frames_received = 0
        self.frames_decoded = 0  # the decoder's: see frame_decoded()
        self.key_frames_decoded = 0
        self.frame_width = 0
        self.frame_height = 0
        self.plis_sent = 0
        self.firs_sent = 0
        self.plis_received = 0
        self.firs_received = 0
        self.nacks_received = 0
        self.rtx_packets_received = 0
        self.rtx_bytes_received = 0
        self.frames_sent = 0
        self.key_frames_sent = 0
        self.sent_width = 0
        self.sent_height = 0
        self.retransmitted_bytes_sent = 0

    # -- receive -----------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """One plain (already unprotected) datagram of the section: RTCP if its second byte is
        an RTCP packet type (RFC 5761 §4), RTP otherwise."""
        if len(data) >= 2 and 192 <= data[1] <= 223:
            try:
                packets = parse_rtcp(data)
            except RtcpParseError:
                self.drops.malformed_rtcp += 1
                return
            self.receive_rtcp_packets(packets, now)
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self.drops.malformed_rtp += 1
            return
        self.receive_packet(packet, now)

    def receive_packet(self, packet: RtpPacket, now: float) -> None:
        """A decrypted, parsed RTP packet of this section (media or RTX)."""
        if self.closed:
            return
        apt = self._rtx_apt.get(packet.payload_type)
        if apt is not None:
            repaired = self._unwrap_rtx(packet, apt)
            if repaired is None:
                return
            packet = repaired
        codec = self.config.receive_codecs.get(packet.payload_type)
        if codec is None:
            self.drops.unknown_payload_type += 1
            return
        if packet.ssrc != self.remote_ssrc:
            if not self._may_switch_source(now):
                self.drops.unknown_ssrc += 1
                return
            self._switch_source(packet.ssrc)
        self.chain.incoming_rtp(packet, now)
        self._last_packet = now
        if not packet.payload:
            return  # padding only (a bandwidth probe)
        assembler = self._assembler_for(packet.payload_type, codec)
        if assembler is None:
            self.drops.unsupported_codec += 1
            return
        assembler.receive(packet.sequence_number, packet.timestamp, packet.marker,
                          packet.payload, now)  # fmt: skip
        if self._beyond_repair(packet):
            # No retransmission will fill this hole: ask for a keyframe now rather than wait
            # max_delay for packets that will not come.
            assembler.give_up(now)
        self._drain_assembler(now)

    def _beyond_repair(self, packet: RtpPacket) -> bool:
        """Whether ``packet`` comes after a hole no NACK can fill: one NACK generation does
        not ask about (a jump past its ``max_gap``), or spanning more RTP time than a sender
        keeps packets (:data:`_UNREPAIRABLE_SPAN`)."""
        newest, self._newest = self._newest, (packet.sequence_number, packet.timestamp)
        if newest is None:
            return False
        jump = (packet.sequence_number - newest[0]) & 0xFFFF
        if jump >= 0x8000:
            self._newest = newest  # older than the newest: reordered or retransmitted
            return False
        if jump <= 1:
            return False
        if self.nack is None:
            return False  # without NACK the assembler waits only for reordering anyway
        span = (packet.timestamp - newest[1]) & 0xFFFFFFFF
        return jump > self.nack.max_gap or _UNREPAIRABLE_SPAN < span < 0x80000000

    def _unwrap_rtx(self, packet: RtpPacket, apt: int) -> RtpPacket | None:
        """The packet an RTX packet repairs (RFC 4588 §4): OSN first, then the payload; the
        timestamp and marker are the original's."""
        expected = self.config.remote_rtx_ssrc
        if expected is not None and packet.ssrc != expected:
            self.drops.unknown_ssrc += 1
            return None
        if self.remote_ssrc is None or len(packet.payload) <= _OSN_SIZE:
            # padding-only RTX (a probe) or nothing to repair yet
            self.drops.rtx_without_source += 1
            return None
        self.rtx_packets_received += 1
        self.rtx_bytes_received += len(packet.payload)
        osn = int.from_bytes(packet.payload[:_OSN_SIZE])
        return dataclasses.replace(
            packet, payload_type=apt, sequence_number=osn, ssrc=self.remote_ssrc,
            payload=packet.payload[_OSN_SIZE:], padding_size=0,
        )  # fmt: skip

    def _may_switch_source(self, now: float) -> bool:
        # As AudioSession: a signaled SSRC is binding; a learned one is replaced after BYE or
        # a silence (the peer restarted its sender).
        if self.remote_ssrc is None:
            return True
        if self.config.remote_ssrc is not None:
            return False
        if self.remote_ssrc in self.reporter.ended:
            return True
        return self._last_packet is not None and now - self._last_packet > _SOURCE_TIMEOUT

    def _switch_source(self, ssrc: int) -> None:
        if self.remote_ssrc is not None:
            log.info("remote video source changed from %08x to %08x", self.remote_ssrc, ssrc)
            self._assembler = None
            self._newest = None
            if self.nack is not None:
                fresh = NackGenerator(self.config.ssrc, ssrc, initial_rtt=self.nack.rtt)
                self.chain.interceptors[self.chain.interceptors.index(self.nack)] = fresh
                self.nack = fresh
        self.remote_ssrc = ssrc

    def _assembler_for(
        self, payload_type: int, codec: VideoCodec
    ) -> FrameAssembler[PayloadChunk] | FrameAssembler[H264Part] | None:
        assembler = self._assembler
        if assembler is None or payload_type != self._assembler_pt:
            try:
                part = payload_format(codec.name)
            except ValueError:
                return None
            if assembler is not None:
                # A new payload format: its frames cannot continue the old decoder state.
                log.info("remote video codec changed to %s", codec.name)
            # Without NACK a missing packet is only waited for as long as reordering lasts.
            wait = self.config.max_delay if self.nack is not None else _REORDER_WAIT
            interval = self._keyframe_interval()
            if isinstance(part, H264Format):  # one call per part type, each typed
                assembler = FrameAssembler(part, max_wait=wait, keyframe_interval=interval)
            else:
                assembler = FrameAssembler(part, max_wait=wait, keyframe_interval=interval)
            self._assembler = assembler
            self._assembler_pt = payload_type
        return assembler

    def _drain_assembler(self, now: float) -> None:
        assembler = self._assembler
        if assembler is None:
            return
        codec = assembler.format.name
        while (out := assembler.poll()) is not None:
            if isinstance(out, KeyframeNeeded):
                self._request_keyframe(now)
                continue
            self._deliver(out, codec)

    def _deliver(self, frame: AssembledFrame, codec: str) -> None:
        self.frames_received += 1
        if frame.keyframe:
            self.key_frames_received += 1
            self._keyframe_pending = False
            size = _keyframe_size(codec, frame.data)
            if size is not None:
                self.frame_width, self.frame_height = size
        encoded = EncodedVideoFrame(frame.data, frame.timestamp, frame.keyframe, codec,
                                    self.frame_width, self.frame_height)  # fmt: skip
        self._events.append(VideoFrameReceived(encoded))

    def frame_decoded(self, width: int, height: int, *, keyframe: bool = False) -> None:
        """The decoder's hook: one received frame decoded at ``width`` x ``height`` (for
        framesDecoded, keyFramesDecoded, frameWidth/Height)."""
        self.frames_decoded += 1
        self.key_frames_decoded += keyframe
        if width and height:
            self.frame_width, self.frame_height = width, height

    # -- keyframe requests (RFC 4585 §6.3.1 PLI, RFC 5104 §4.3.1 FIR) -----------------------

    def request_keyframe(self, now: float) -> None:
        """Ask the remote sender for a keyframe (the application or the decoder wants one);
        rate-limited like the assembler's own requests."""
        self._request_keyframe(now)

    def _keyframe_interval(self) -> float:
        rtt = self.reporter.round_trip_time or 0.0
        return max(self.config.keyframe_interval, rtt)

    def _keyframe_due(self) -> float | None:
        if not self._keyframe_pending or self._keyframe_sent_at is None:
            return None
        return self._keyframe_sent_at + self._keyframe_interval()

    def _request_keyframe(self, now: float) -> None:
        if self.closed or self.remote_ssrc is None:
            return
        last = self._keyframe_sent_at
        if last is not None and now < last + self._keyframe_interval():
            self._keyframe_pending = True
            return
        self._keyframe_pending = False
        packet: RtcpPacket
        if self.config.pli:
            packet = Pli(self.config.ssrc, self.remote_ssrc)
            self.plis_sent += 1
        elif self.config.fir:
            self._fir_sequence = (self._fir_sequence + 1) & 0xFF
            packet = Fir(self.config.ssrc, (FirEntry(self.remote_ssrc, self._fir_sequence),))
            self.firs_sent += 1
        else:
            return  # the remote takes no keyframe requests: wait for its next keyframe
        self._keyframe_sent_at = now
        self._transmit_rtcp(self.reporter.build_report(now) + [packet])

    # -- RTCP --------------------------------------------------------------------------

    def receive_rtcp_packets(self, packets: list[RtcpPacket], now: float) -> None:
        """The parsed packets of one compound RTCP datagram: reports (statistics, RTT), NACK
        (retransmit), PLI/FIR (:class:`KeyframeRequested`), BYE (:class:`RemoteEnded`).

        A NACK for a packet we no longer hold (older than ``_RETRANSMIT_AGE``, or gone from the
        ring) means the remote's picture stays broken until a keyframe: we raise
        :class:`KeyframeRequested` ("nack") at once, at most every ``_UNANSWERABLE_INTERVAL``,
        rather than wait for its PLI (libwebrtc sends one only when its 3 s frame timeout fires,
        which after a long outage froze Chromium ~2 s longer than needed)."""
        ssrc = self.config.ssrc
        unanswerable = self.retransmit.unavailable if self.retransmit is not None else 0
        for packet in packets:
            self.chain.incoming_rtcp(packet, now)
            if isinstance(packet, Pli):
                if packet.media_ssrc == ssrc and self.sender is not None:
                    self.plis_received += 1
                    self._events.append(KeyframeRequested("pli"))
            elif isinstance(packet, Fir):
                for entry in packet.entries:
                    # RFC 5104 §4.3.1.2: a repeated sequence number is the same request again
                    if entry.ssrc != ssrc or self.sender is None:
                        continue
                    if self._fir_seen.get(packet.sender_ssrc) == entry.sequence_number:
                        continue
                    self._fir_seen[packet.sender_ssrc] = entry.sequence_number
                    self.firs_received += 1
                    self._events.append(KeyframeRequested("fir"))
            elif isinstance(packet, Nack) and packet.media_ssrc == ssrc:
                self.nacks_received += 1
        if (
            self.retransmit is not None
            and not self.closed
            and self.retransmit.unavailable > unanswerable
            and (
                self._unanswerable_keyframe_at is None
                or now - self._unanswerable_keyframe_at >= _UNANSWERABLE_INTERVAL
            )
        ):
            self._unanswerable_keyframe_at = now
            self._events.append(KeyframeRequested("nack"))
        for bye in self.reporter.poll_events():
            if bye.ssrc == self.remote_ssrc:
                self._events.append(RemoteEnded(bye.ssrc, bye.reason))
        if self.nack is not None and self.reporter.round_trip_time is not None:
            self.nack.rtt = self.reporter.round_trip_time
        if self._assembler is not None:
            self._assembler.keyframe_interval = self._keyframe_interval()
        self._flush_retransmissions(now)

    def _flush_retransmissions(self, now: float) -> None:
        if self.retransmit is None or self.closed:
            return
        for packet in self.chain.poll_rtp(now):
            packet = self._as_retransmission(packet)
            if self.sender is not None:
                packet = self.sender.stamp_transport_sequence(packet)
            data = bytes(packet)
            self.retransmitted_bytes_sent += len(packet.payload)
            self._transmits.append(Retransmission(data))

    def _as_retransmission(self, packet: RtpPacket) -> RtpPacket:
        """RFC 4588 §4 on the RTX stream when we have one; the packet itself otherwise."""
        codec = self.config.send_codec
        rtx_ssrc = self.config.rtx_ssrc
        if rtx_ssrc is None or codec is None or codec.rtx_payload_type is None:
            return packet
        seq = self._rtx_sequence
        self._rtx_sequence = (seq + 1) & 0xFFFF
        payload = packet.sequence_number.to_bytes(_OSN_SIZE) + packet.payload
        return dataclasses.replace(
            packet, payload_type=codec.rtx_payload_type, sequence_number=seq, ssrc=rtx_ssrc,
            payload=payload,
        )  # fmt: skip

    def _transmit_rtcp(self, packets: list[RtcpPacket]) -> None:
        self._transmits.append(Transmit(serialize_rtcp(packets)))

    # -- send --------------------------------------------------------------------------

    def send_encoded(self, frame: EncodedVideoFrame, now: float) -> None:
        """Packetize and send one encoded frame. ``frame.timestamp`` is its capture time on
        the 90 kHz clock since the stream started (the RTP timestamp adds the stream's random
        base); a frame in another format than the send codec's is a caller's bug
        (ValueError)."""
        sender, codec = self.sender, self.config.send_codec
        if sender is None or codec is None or self.closed:
            return
        if frame.codec != codec.key:
            raise ValueError(f"a {frame.codec} frame on a {codec.name} stream")
        payloads = self._packetize(frame, codec)
        last = len(payloads) - 1
        chain = self.chain
        for i, payload in enumerate(payloads):
            packet = sender.packetize(payload, frame.timestamp, now, marker=i == last)
            self._transmits.append(Transmit(bytes(chain.outgoing_rtp(packet, now))))
        self.frames_sent += 1
        self.key_frames_sent += frame.keyframe
        if frame.width and frame.height:
            self.sent_width, self.sent_height = frame.width, frame.height

    def _packetize(self, frame: EncodedVideoFrame, codec: VideoCodec) -> list[bytes]:
        key = codec.key
        if key == "h264":
            return [payload for payload, _ in self._h264.packetize(frame.data)]
        if key == "av1":
            return packetize_av1(frame.data, self.config.mtu, keyframe=frame.keyframe)
        picture_id = self._picture_id
        self._picture_id = (picture_id + 1) & _PICTURE_ID_MASK
        if key == "vp8":
            return packetize_vp8(frame.data, self.config.mtu, picture_id=picture_id)
        if key == "vp9":
            size = (frame.width, frame.height) if frame.width and frame.height else None
            return packetize_vp9(frame.data, self.config.mtu, keyframe=frame.keyframe,
                                 picture_id=picture_id, resolution=size)  # fmt: skip
        raise ValueError(f"no RTP payloader for {codec.name}")

    # -- timers and output -------------------------------------------------------------

    def deadline(self) -> float | None:
        if self.closed:
            return None
        best = self.chain.deadline()
        for d in (
            self._assembler.deadline() if self._assembler is not None else None,
            self._keyframe_due(),
        ):
            if d is not None and (best is None or d < best):
                best = d
        return best

    def tick(self, now: float) -> None:
        """Assembler timeouts, keyframe request retries, RTCP reports and NACKs, and
        retransmissions due at ``now``."""
        if self._assembler is not None:
            self._assembler.tick(now)
            self._drain_assembler(now)
        due = self._keyframe_due()
        if due is not None and now >= due:
            self._request_keyframe(now)
        rtcp = self.chain.poll_rtcp(now)
        if rtcp and not self.closed:
            self._transmit_rtcp(rtcp)
        self._flush_retransmissions(now)

    def poll(self) -> Transmit | VideoEvent | None:
        """The next datagram to send, else the next event, else None."""
        if self._transmits:
            return self._transmits.popleft()
        return self._events.popleft() if self._events else None

    def close(self, now: float, reason: str | None = None) -> None:
        """Send BYE (RFC 3550 §6.6) and stop sending and receiving."""
        if self.closed:
            return
        self.closed = True
        self._keyframe_pending = False
        if self.sender is not None and self.sender.packet_count:
            self._transmit_rtcp(self.reporter.bye(now, reason))

    # -- statistics --------------------------------------------------------------------

    def stats(self) -> list[dict[str, float | int | str | None]]:
        """getStats entries with W3C field names (webrtc-stats): inbound-rtp, outbound-rtp,
        remote-inbound-rtp, remote-outbound-rtp, codec. On inbound-rtp, nackCount/pliCount/
        firCount count what we sent; on outbound-rtp, what we received. The peer connection
        adds ids, timestamps and links."""
        out: list[dict[str, float | int | str | None]] = []
        mid = self.config.mid
        source = self.reporter.sources.get(self.remote_ssrc if self.remote_ssrc is not None else -1)
        if source is not None:
            entry: dict[str, float | int | str | None] = {
                "type": "inbound-rtp",
                "kind": "video",
                "ssrc": source.ssrc,
                "mid": mid,
                "packetsReceived": source.packets_received,
                "bytesReceived": source.bytes_received,
                "packetsLost": source.packets_lost,
                "jitter": source.jitter_seconds,
                "framesReceived": self.frames_received,
                "keyFramesReceived": self.key_frames_received,
                "framesDecoded": self.frames_decoded,
                "keyFramesDecoded": self.key_frames_decoded,
                "framesDropped": self._assembler.stats.frames_dropped if self._assembler else 0,
                "nackCount": self.nack.nacks_sent if self.nack is not None else 0,
                "pliCount": self.plis_sent,
                "firCount": self.firs_sent,
                "retransmittedPacketsReceived": self.rtx_packets_received,
                "retransmittedBytesReceived": self.rtx_bytes_received,
            }
            if self.frame_width and self.frame_height:
                entry["frameWidth"] = self.frame_width
                entry["frameHeight"] = self.frame_height
            out.append(entry)
        if self.sender is not None:
            entry = {
                "type": "outbound-rtp",
                "kind": "video",
                "ssrc": self.sender.ssrc,
                "mid": mid,
                "packetsSent": self.sender.packet_count,
                "bytesSent": self.sender.octet_count,
                "framesSent": self.frames_sent,
                "keyFramesSent": self.key_frames_sent,
                "retransmittedPacketsSent": self.retransmit.retransmitted
                if self.retransmit is not None
                else 0,
                "retransmittedBytesSent": self.retransmitted_bytes_sent,
                "nackCount": self.nacks_received,
                "pliCount": self.plis_received,
                "firCount": self.firs_received,
                "rtxSsrc": self.config.rtx_ssrc,
            }
            if self.sent_width and self.sent_height:
                entry["frameWidth"] = self.sent_width
                entry["frameHeight"] = self.sent_height
            out.append(entry)
        remote_in = self.reporter.remote_inbound
        if remote_in is not None:
            out.append(
                {
                    "type": "remote-inbound-rtp",
                    "kind": "video",
                    "ssrc": remote_in.ssrc,
                    "packetsLost": remote_in.packets_lost,
                    "fractionLost": remote_in.fraction_lost,
                    "jitter": remote_in.jitter,
                    "roundTripTime": remote_in.round_trip_time,
                }
            )
        for remote_out in self.reporter.remote_outbound.values():
            out.append(
                {
                    "type": "remote-outbound-rtp",
                    "kind": "video",
                    "ssrc": remote_out.ssrc,
                    "packetsSent": remote_out.packets_sent,
                    "bytesSent": remote_out.bytes_sent,
                    "remoteTimestamp": remote_out.remote_timestamp,
                }
            )
        codecs = list(self.config.receive_codecs.values())
        if self.config.send_codec is not None and self.config.send_codec not in codecs:
            codecs.append(self.config.send_codec)
        for codec in codecs:
            out.append(
                {
                    "type": "codec",
                    "payloadType": codec.payload_type,
                    "mimeType": f"video/{codec.name}",
                    "clockRate": VIDEO_CLOCK,
                    "sdpFmtpLine": ";".join(f"{k}={v}" for k, v in codec.parameters.items())
                    or None,
                }
            )
        return out


def _keyframe_size(codec: str, data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header (RFC 6386 §9.1: the 3-byte frame tag, the
    start code 9d 01 2a, then 14-bit width and height); None for other formats."""
    if codec != "vp8" or len(data) < 10 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None
