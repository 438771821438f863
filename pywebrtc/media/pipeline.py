"""One audio RTP session (one m-section) as a sans-IO object: packets and time in, packets,
frames and events out.

Receive: SRTP unprotect → RTP parse → SSRC / payload-type check → interceptors (RFC 3550
statistics and reports, NACK generation, TWCC feedback) → adaptive jitter buffer → decode (or
conceal) → :class:`FrameReceived` every 20 ms of playout. In raw mode (``decode=False``) the
payloads come out as :class:`EncodedReceived` instead, in order, losses marked. Raw mode with
``forward=True`` skips the jitter buffer and the playout clock: each packet's payload comes out
as it arrives (duplicates dropped, reordering passed on, nothing for losses; telephone-events
reported as usual, comfort noise and RED not passed on), for a relay or an echo that sends it
on at once with its own timestamp.

Send: ``send_frame(av.AudioFrame)`` → encode (Opus/PCMU/PCMA) → packetize (SSRC, sequence,
timestamp, marker, header extensions) → interceptors (report bookkeeping, retransmission
buffer) → SRTP protect → :class:`Transmit`. Raw mode: ``send_encoded(payload)``.
DTMF: ``insert_dtmf(tones, ...)`` queues RFC 4733 telephone-events (:mod:`.dtmf`) that the
timer sends on the same stream; audio packets are held back while an event plays, as
libwebrtc does, and :class:`~pywebrtc.media.dtmf.ToneChange` events report the W3C tonechange.

Driving it (str0m style)::

    session.receive(datagram, now)           # SRTP/SRTCP (or plain RTP/RTCP when srtp is None)
    session.send_frame(frame, now)           # from the local track's recv()
    session.tick(now)                        # at or after session.deadline()
    while (out := session.poll()) is not None:
        if isinstance(out, Transmit): sock.sendto(out.data, remote)
        else: ...                            # FrameReceived → RemoteAudioTrack.push_frame

Bad input (malformed RTP/RTCP, SRTP authentication failures and replays, unknown SSRCs,
unexpected payload types) is dropped and counted in :attr:`AudioSession.drops`; the session
continues. Nothing here reads a clock: ``now`` is the caller's monotonic time in seconds.

With BUNDLE, transport-wide CC feedback belongs to the transport, not to one m-section: a
peer connection with several media sections should run one
:class:`~pywebrtc.rtp.twcc_feedback.TwccFeedback` for the transport and leave
``AudioSessionConfig.twcc_feedback`` off; for a single audio section it can live here.
"""

from __future__ import annotations

import logging
import math
import operator
import random
import struct
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import av
from av.stream import Stream

from pywebrtc._mypyc import mypyc_attr
from pywebrtc.rtp import AudioLevel, RtcpParseError, RtpPacket, RtpParseError
from pywebrtc.rtp.extensions import extension_value_offset
from pywebrtc.rtp.interceptor import InterceptorChain
from pywebrtc.rtp.jitter_buffer import JitterBuffer, JitterFrame, JitterLoss
from pywebrtc.rtp.nack_generator import NackGenerator
from pywebrtc.rtp.reports import RtcpReporter
from pywebrtc.rtp.retransmit_buffer import RetransmitBuffer
from pywebrtc.rtp.rtcp import RtcpPacket, parse_rtcp, serialize_rtcp
from pywebrtc.rtp.sender import ExtensionIds, RtpSender, TransportSequence
from pywebrtc.rtp.twcc_feedback import TwccFeedback
from pywebrtc.srtp import SrtpError, SrtpSession
from pywebrtc.transmit import Transmit

from .codec import AudioCodec, AudioDecoder, AudioEncoder
from .codecs import create_decoder, create_encoder, create_opus_encoder
from .dtmf import DtmfPlayout, ToneChange
from .frames import time_base

__all__ = [
    "AudioSession",
    "AudioSessionConfig",
    "DropCounters",
    "EncodedReceived",
    "FrameReceived",
    "RemoteEnded",
    "SessionEvent",
    "TelephoneEvent",
    "Transmit",
]

log = logging.getLogger(__name__)

_PTIME = 0.02
# Payload formats that share the audio stream's sequence space but are not decoded to audio
# (RFC 4733 telephone-event, RFC 3389 comfort noise, RFC 2198 redundancy).
_NOT_AUDIO = frozenset({"telephone-event", "cn", "red"})
_DTMF = {i: str(i) for i in range(10)} | {10: "*", 11: "#", 12: "A", 13: "B", 14: "C", 15: "D"}
_IDLE_AFTER = 1.0  # stop the playout clock after this long without packets
_SOURCE_TIMEOUT = 2.0  # a learned remote SSRC silent this long may be replaced
_PAUSE = 3 * _PTIME  # a send gap longer than this is a pause, not jitter
_NACK_MAX_WAIT = 0.2  # never hold playout longer than this for a retransmission
_MAX_CATCH_UP = 10  # playout ticks processed at once when polled late
_FORWARD_WINDOW = 64  # forward mode: sequence numbers remembered to drop duplicates
_RTP_HEADER = struct.Struct("!BBHII")  # RFC 3550 §5.1, no CSRC


# Each session's random stream (SSRC, sequence and timestamp bases). A module attribute that a
# test can replace to replay a scenario (a compiled module binds `random` itself at import).
new_rng: Callable[[], random.Random] = random.Random


@dataclass(frozen=True, slots=True)
class FrameReceived:
    frame: av.AudioFrame
    concealed: bool  # produced by loss concealment, not from a packet


@dataclass(frozen=True, slots=True)
class EncodedReceived:
    """Raw mode: one playout slot (``payload`` None for a lost packet); with ``forward``, one
    received packet."""

    payload: bytes | None
    timestamp: int
    payload_type: int

    def to_packet(self, clock_rate: int) -> av.Packet[Stream] | None:
        """As an ``av.Packet`` for :class:`~pywebrtc.media.track.EncodedAudioTrack`."""
        if self.payload is None:
            return None
        packet: av.Packet[Stream] = av.Packet(self.payload)
        packet.pts = self.timestamp
        packet.time_base = time_base(clock_rate)
        return packet


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """An RFC 4733 event ended: ``event`` is "0"-"9", "*", "#", "A"-"D" (DTMF) or the event
    number for others; ``duration`` in seconds."""

    event: str
    duration: float


@dataclass(frozen=True, slots=True)
class RemoteEnded:
    """The remote source sent BYE (RFC 3550 §6.6)."""

    ssrc: int
    reason: str | None


SessionEvent = FrameReceived | EncodedReceived | TelephoneEvent | RemoteEnded | ToneChange


@dataclass(slots=True)
class DropCounters:
    malformed_rtp: int = 0
    malformed_rtcp: int = 0
    srtp_auth_failures: int = 0
    srtp_replays: int = 0
    srtp_other: int = 0
    unknown_ssrc: int = 0
    unknown_payload_type: int = 0
    jitter_buffer: int = 0  # duplicates, late, overflow


@dataclass(frozen=True, slots=True)
class AudioSessionConfig:
    """What negotiation decided for one audio m-section.

    ``send_codec`` None: we do not send (recvonly); ``receive_codecs`` empty: we do not
    receive (sendonly). ``remote_ssrc`` None: accept the first SSRC that arrives (signaling
    without ``a=ssrc``), then only that one. ``nack``: rtcp-fb "nack" was negotiated (we
    generate NACKs and keep a retransmission buffer). ``twcc_feedback``: generate
    transport-cc feedback here (see the module docstring). ``decode`` False: raw mode;
    ``forward`` True as well: raw mode without jitter buffer or playout clock (payloads on
    receipt). ``hurry``: after a burst, play two frames per tick until the jitter buffer is back
    at its target, instead of dropping frames (for consumers that transcribe, not play out).
    """

    local_ssrc: int
    cname: str
    send_codec: AudioCodec | None = None
    receive_codecs: tuple[AudioCodec, ...] = ()
    mid: str | None = None
    remote_ssrc: int | None = None
    extension_ids: ExtensionIds = field(default_factory=ExtensionIds)
    nack: bool = False
    twcc_feedback: bool = False
    decode: bool = True
    forward: bool = False
    hurry: bool = False
    dtmf_codec: AudioCodec | None = None  # the telephone-event we send with (RFC 4733)
    output_channels: int = 1
    bitrate: int = 32000
    opus_fec: bool | None = None  # None: as the peer's fmtp (useinbandfec) asks
    opus_dtx: bool | None = None  # None: as the peer's fmtp (usedtx) asks
    opus_complexity: int = 5
    # "audio": CELT on a clean path, SILK + FEC once the peer reports loss; "voip": SILK or
    # hybrid coding always (~3x the CPU); "lowdelay": CELT only, never FEC.
    opus_application: str = "audio"
    opus_decoder: str = "auto"  # "libopus" (PLC + FEC), "pyav" (fade-out only), "auto"
    min_rtcp_interval: float = 1.0
    jitter_min_delay: float = 0.02
    jitter_max_delay: float = 0.5


# Subclassable outside the compiled modules (tests wrap a subclass's methods).
@mypyc_attr(allow_interpreted_subclasses=True)
class AudioSession:
    # Slots, not a __dict__: one per audio transceiver, its attributes read per packet.
    __slots__ = (
        "_audio_pt", "_bitrate_limit", "_codecs", "_decoders", "_dtmf_start", "_events",
        "_forward_high", "_forward_seen", "_last_event", "_last_packet", "_last_send",
        "_media_time", "_next_playout", "_rng", "_send_started", "_transmits",
        "_transport_sequence", "chain", "closed", "config", "drops", "dtmf", "echo_moved",
        "encoder",
        "frames_concealed", "frames_decoded", "jitter", "nack", "remote_ssrc", "reporter",
        "retransmit", "samples_received", "sender", "srtp", "twcc",
    )  # fmt: skip

    def __init__(
        self,
        config: AudioSessionConfig,
        *,
        srtp: SrtpSession | None = None,
        ntp_offset: float = 0.0,
        transport_sequence: TransportSequence | None = None,
        rng: random.Random | None = None,
    ) -> None:
        rng = rng or new_rng()
        self.config = config
        self.srtp = srtp
        self.drops = DropCounters()
        self.sender: RtpSender | None = None
        self.encoder: AudioEncoder | None = None
        if config.send_codec is not None:
            codec = config.send_codec
            self.sender = RtpSender(
                config.local_ssrc,
                codec.payload_type,
                codec.clock_rate,
                extension_ids=config.extension_ids,
                mid=config.mid,
                transport_sequence=transport_sequence,
                rng=rng,
            )
        self.reporter = RtcpReporter(
            config.local_ssrc,
            config.cname,
            sender=self.sender,
            clock_rate=(
                config.send_codec or (config.receive_codecs or (None,))[0] or _OPUS_CLOCK
            ).clock_rate,
            ntp_offset=ntp_offset,
            min_interval=config.min_rtcp_interval,
            rng=rng,
        )
        self.chain = InterceptorChain([self.reporter])
        self.retransmit: RetransmitBuffer | None = None
        self.nack: NackGenerator | None = None
        self.twcc: TwccFeedback | None = None
        if config.nack and self.sender is not None:
            self.retransmit = RetransmitBuffer(config.local_ssrc)
            self.chain.add(self.retransmit)
        if config.nack and config.receive_codecs:
            self.nack = NackGenerator(config.local_ssrc, config.remote_ssrc)
            self.chain.add(self.nack)
        if config.twcc_feedback and config.extension_ids.transport_cc is not None:
            self.twcc = TwccFeedback(config.local_ssrc, config.extension_ids.transport_cc)
            self.chain.add(self.twcc)
        self._codecs = {c.payload_type: c for c in config.receive_codecs}
        self._decoders: dict[int, AudioDecoder | None] = {}
        self.remote_ssrc = config.remote_ssrc
        clock = (
            config.receive_codecs[0].clock_rate if config.receive_codecs else _OPUS_CLOCK.clock_rate
        )
        self.jitter = JitterBuffer(
            clock,
            min_delay=config.jitter_min_delay,
            max_delay=config.jitter_max_delay,
            discard=not config.hurry,
        )
        if self.nack is not None:
            self._fit_jitter_to_rtt()
        self._audio_pt = next((c.payload_type for c in config.receive_codecs
                               if c.key not in _NOT_AUDIO), None)  # fmt: skip
        self._last_event: tuple[int, int] | None = None  # (timestamp, event) last reported
        self._next_playout: float | None = None
        self._forward_high: int | None = None  # forward mode: highest sequence number seen
        self._forward_seen = 0  # bit i: highest - i was seen
        self._last_packet: float | None = None
        self._transmits: deque[Transmit] = deque()
        self._events: deque[SessionEvent] = deque()
        self._send_started = False
        self._media_time = 0  # send clock units since the stream started
        self._last_send: float | None = None
        self._rng = rng
        self._transport_sequence = transport_sequence
        self._bitrate_limit: int | None = None  # the bandwidth estimate's share, bit/s
        self.dtmf: DtmfPlayout | None = None
        self._dtmf_start = 0  # media time of the playing event's start
        self._configure_dtmf()
        self.frames_decoded = 0
        self.frames_concealed = 0
        self.samples_received = 0
        self.closed = False
        self.echo_moved = False  # set by echo_bare

    def reconfigure(self, config: AudioSessionConfig) -> None:
        """Apply a renegotiation of this m-section: direction, codecs, extension ids, NACK,
        remote SSRC. The stream continues: same SSRC, sequence numbers and timestamps (a new
        session would restart them, and the shared outbound SRTP context refuses indexes far
        behind the ones it already protected)."""
        old = self.config
        if config.local_ssrc != old.local_ssrc:
            raise ValueError("the local SSRC cannot change; create a new AudioSession")
        self.config = config
        codec = config.send_codec
        if codec is not None:
            if self.sender is None:
                self.sender = RtpSender(
                    config.local_ssrc, codec.payload_type, codec.clock_rate,
                    extension_ids=config.extension_ids, mid=config.mid,
                    transport_sequence=self._transport_sequence, rng=self._rng,
                )  # fmt: skip
                self.reporter.sender = self.sender
            else:
                sender = self.sender
                if codec.clock_rate != sender.clock_rate:
                    self._media_time = self._media_time * codec.clock_rate // sender.clock_rate
                sender.payload_type = codec.payload_type
                sender.clock_rate = codec.clock_rate
                sender.extension_ids = config.extension_ids
                sender.set_mid(config.mid)
                wants_twcc = config.extension_ids.transport_cc is not None
                if wants_twcc and sender.transport_sequence is None:
                    sender.transport_sequence = self._transport_sequence or TransportSequence()
            self.reporter.clock_rate = codec.clock_rate
            if (codec, config.bitrate, config.opus_fec, config.opus_dtx, config.opus_complexity,
                    config.opus_application) != (old.send_codec, old.bitrate, old.opus_fec,
                    old.opus_dtx, old.opus_complexity, old.opus_application):  # fmt: skip
                self.encoder = None
        if config.nack and self.sender is not None and self.retransmit is None:
            self.retransmit = RetransmitBuffer(config.local_ssrc)
            self.chain.add(self.retransmit)
        if config.nack and config.receive_codecs and self.nack is None:
            self.nack = NackGenerator(config.local_ssrc, config.remote_ssrc or self.remote_ssrc)
            self.chain.add(self.nack)
        if not config.nack:
            for feature in (self.retransmit, self.nack):
                if feature is not None:
                    self.chain.interceptors.remove(feature)
            self.retransmit = self.nack = None
        transport_cc = config.extension_ids.transport_cc
        if self.twcc is not None and (not config.twcc_feedback or transport_cc is None):
            self.chain.interceptors.remove(self.twcc)
            self.twcc = None
        elif self.twcc is None and config.twcc_feedback and transport_cc is not None:
            self.twcc = TwccFeedback(config.local_ssrc, transport_cc)
            self.chain.add(self.twcc)
        elif self.twcc is not None and transport_cc is not None:
            self.twcc.extension_id = transport_cc
        self._codecs = {c.payload_type: c for c in config.receive_codecs}
        self._decoders = {pt: d for pt, d in self._decoders.items() if pt in self._codecs}
        if self._audio_pt not in self._codecs:
            self._audio_pt = next((c.payload_type for c in config.receive_codecs
                                   if c.key not in _NOT_AUDIO), None)  # fmt: skip
        if config.remote_ssrc is not None and config.remote_ssrc != self.remote_ssrc:
            self._switch_source(config.remote_ssrc)
        self.jitter.max_delay = config.jitter_max_delay
        self.jitter.min_delay = config.jitter_min_delay
        self.jitter.discard = not config.hurry
        if self.nack is not None:
            self._fit_jitter_to_rtt()
        self._configure_dtmf()

    def _configure_dtmf(self) -> None:
        codec = self.config.dtmf_codec
        if codec is None or self.config.send_codec is None:
            if self.dtmf is not None:
                self.dtmf.stop()
            self.dtmf = None
        elif self.dtmf is None:
            self.dtmf = DtmfPlayout(codec.clock_rate)
        else:
            self.dtmf.clock_rate = codec.clock_rate

    # -- receive -----------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """One datagram of the session's flow: RTCP if its second byte is an RTCP packet type
        (RFC 5761 §4), RTP otherwise; SRTCP/SRTP when the session has SRTP contexts."""
        if len(data) >= 2 and 192 <= data[1] <= 223:
            self._receive_rtcp(data, now)
            return
        if self.srtp is not None:
            try:
                data = self.srtp.inbound.unprotect_rtp(data)
            except SrtpError as exc:
                self._count_srtp(exc)
                return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self.drops.malformed_rtp += 1
            return
        self.receive_packet(packet, now)

    def receive_forwarded(self, data: bytes, now: float) -> tuple[bytes, int] | None:
        """Forward mode's fast path for one plain (unprotected) RTP packet: a bare audio packet
        (no CSRC, extension or padding) of the current source, with statistics the only
        interceptor, comes back as ``(payload, timestamp)`` to send on, accounted as
        :meth:`receive_packet` accounts it but with no :class:`RtpPacket` or event made.
        Anything else goes through :meth:`receive_packet` (its events to :meth:`poll`), and
        None is returned."""
        config = self.config
        if (
            config.forward
            and not config.decode
            and len(data) > 12
            and data[0] & 0xEF == 0x80  # V=2, no padding or CSRC; an extension block or not
            and self._own_chain()
        ):
            _, b1, seq, timestamp, ssrc = _RTP_HEADER.unpack_from(data)
            start = 12
            if data[0] != 0x80:  # the payload follows the extension block (RFC 3550 §5.3.1)
                start = 16 + 4 * (data[14] << 8 | data[15]) if len(data) >= 16 else len(data)
            if ssrc == self.remote_ssrc and b1 & 0x7F == self._audio_pt and start < len(data):
                payload = data[start:]
                self._account(data, ssrc, seq, timestamp, len(payload), now)
                self._last_packet = now
                if self._fresh(seq):
                    return payload, timestamp
                self.drops.jitter_buffer += 1
                return None
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self.drops.malformed_rtp += 1
            return None
        self.receive_packet(packet, now)
        return None

    def echo_bare(self, data: bytes, now: float) -> bytes | None:
        """:meth:`receive_forwarded` and then :meth:`send_encoded` of what it returns, in one
        call, for a session that sends back what it receives (an echo): the plain RTP packet
        to send (``b""``: a duplicate or too old, dropped and counted), accounted as those two
        account it: statistics, NACK generation and transport-cc feedback on receipt, the
        header extensions and the retransmission buffer on sending. :attr:`echo_moved` then
        says whether :meth:`deadline` may have moved earlier. None, with nothing done, when
        either would take its slow path (a packet with CSRCs or padding or not audio of the
        current source, DTMF playing, an interceptor not the session's own, this session's
        own SRTP): then call them."""
        config = self.config
        sender = self.sender
        dtmf = self.dtmf
        if (
            sender is None
            or self.closed
            or not config.forward
            or config.decode
            or self.srtp is not None
            or len(data) <= 12
            or data[0] & 0xEF != 0x80  # V=2, no padding or CSRC; an extension block or not
            or (dtmf is not None and dtmf.playing)
        ):
            return None
        retransmit = self.retransmit
        interceptors = len(self.chain.interceptors)
        if interceptors != 1 and interceptors != 1 + (retransmit is not None) + (
            self.nack is not None
        ) + (self.twcc is not None):  # (_own_chain, inline: once per packet)
            return None
        _, b1, seq, timestamp, ssrc = _RTP_HEADER.unpack_from(data)
        if ssrc != self.remote_ssrc or b1 & 0x7F != self._audio_pt:
            return None
        reporter = self.reporter
        if data[0] == 0x80:
            payload = data[12:]
        else:  # the payload follows the extension block (RFC 3550 §5.3.1)
            start = 16 + 4 * (data[14] << 8 | data[15]) if len(data) >= 16 else len(data)
            if start >= len(data):
                return None
            payload = data[start:]
        if interceptors == 1:  # the reports alone
            self.echo_moved = reporter.deadline() is None  # the first packet schedules them
            reporter.record_rtp(ssrc, seq, timestamp, len(payload), now)
        else:
            self.echo_moved = self._account(data, ssrc, seq, timestamp, len(payload), now)
        self._last_packet = now
        if not self._fresh(seq):
            self.drops.jitter_buffer += 1
            return b""
        marker = not self._send_started  # as in _send
        self._send_started = True
        if sender.bare:
            out = sender.packetize_bare(payload, timestamp, now, marker)
        else:
            out = sender.packetize_wire(payload, timestamp, now, marker)
            if retransmit is not None:
                retransmit.record(out, now)
        self._last_send = now
        self._media_time = timestamp
        # (no reporter.start: record_rtp has scheduled the first report already)
        return out

    def _account(
        self, data: bytes, ssrc: int, seq: int, timestamp: int, size: int, now: float
    ) -> bool:
        """``chain.incoming_rtp`` of the packet ``data`` from its header fields (the chain holds
        the session's own interceptors alone: see :meth:`_own_chain`), for the fast paths.
        True when :meth:`deadline` may have moved earlier (a timer started, a loss seen)."""
        reporter = self.reporter
        moved = reporter.deadline() is None
        reporter.record_rtp(ssrc, seq, timestamp, size, now)
        nack = self.nack
        if nack is not None:
            if nack.media_ssrc is None:
                nack.media_ssrc = ssrc
            if nack.media_ssrc == ssrc and nack.receive(seq, now):
                moved = True
        twcc = self.twcc
        if twcc is not None and data[0] & 0x10:
            found = extension_value_offset(data, twcc.extension_id)
            if found is not None and found[1] == 2:
                offset = found[0]
                if twcc.deadline() is None:
                    moved = True
                twcc.record(data[offset] << 8 | data[offset + 1], ssrc, now)
        return moved

    def receive_packet(self, packet: RtpPacket, now: float) -> None:
        """A decrypted, parsed packet (when the peer connection demuxed it already)."""
        if packet.ssrc != self.remote_ssrc:
            if not self._may_switch_source(now):
                self.drops.unknown_ssrc += 1
                return
            self._switch_source(packet.ssrc)
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            self.drops.unknown_payload_type += 1
            return
        self.chain.incoming_rtp(packet, now)
        if not packet.payload:
            return  # padding-only probe
        is_audio = codec.key not in _NOT_AUDIO
        config = self.config
        if config.forward and not config.decode:
            self._last_packet = now
            if not self._fresh(packet.sequence_number):
                self.drops.jitter_buffer += 1
            elif is_audio:
                self._events.append(
                    EncodedReceived(packet.payload, packet.timestamp, packet.payload_type)
                )
            elif codec.key == "telephone-event":
                self._telephone_event(packet.payload, packet.timestamp, codec.clock_rate)
            return
        if is_audio and codec.clock_rate != self.jitter.clock_rate:
            self.jitter.set_clock_rate(codec.clock_rate)
        if not is_audio and codec.key == "telephone-event":
            self._telephone_event(packet.payload, packet.timestamp, codec.clock_rate)
        pushed = self.jitter.push(
            packet.sequence_number, packet.timestamp, packet.payload, now, packet.payload_type,
            timing=is_audio,
        )  # fmt: skip
        if not pushed:
            self.drops.jitter_buffer += 1
        self._last_packet = now
        if self._next_playout is None:
            self._next_playout = now

    def _fresh(self, sequence: int) -> bool:
        """Forward mode: False for a duplicate or a packet too old to tell (RFC 3550 §A.1's
        window idea; SRTP's replay check (RFC 3711 §3.3.2) already drops most duplicates)."""
        high = self._forward_high
        if high is None:
            self._forward_high, self._forward_seen = sequence, 1
            return True
        ahead = (sequence - high) & 0xFFFF
        if ahead == 0:
            return False
        if ahead < 0x8000:
            seen = (self._forward_seen << ahead) | 1 if ahead < _FORWARD_WINDOW else 1
            self._forward_seen = seen & ((1 << _FORWARD_WINDOW) - 1)
            self._forward_high = sequence
            return True
        behind = 0x10000 - ahead
        bit = 1 << behind
        if behind >= _FORWARD_WINDOW or self._forward_seen & bit:
            return False
        self._forward_seen |= bit
        return True

    def _may_switch_source(self, now: float) -> bool:
        # A signaled SSRC is binding. A learned one (no a=ssrc) is replaced when its source
        # said BYE or has been silent for a while: the peer restarted its sender.
        if self.remote_ssrc is None:
            return True
        if self.config.remote_ssrc is not None:
            return False
        if self.remote_ssrc in self.reporter.ended:
            return True
        return self._last_packet is not None and now - self._last_packet > _SOURCE_TIMEOUT

    def _switch_source(self, ssrc: int) -> None:
        if self.remote_ssrc is not None:
            log.info("remote audio source changed from %08x to %08x", self.remote_ssrc, ssrc)
            self.jitter.reset()
            self._forward_high = None
            if self.nack is not None:
                self.nack = self._replace_nack(ssrc)
        self.remote_ssrc = ssrc

    def _replace_nack(self, ssrc: int) -> NackGenerator:
        assert self.nack is not None
        fresh = NackGenerator(self.config.local_ssrc, ssrc, initial_rtt=self.nack.rtt)
        self.chain.interceptors[self.chain.interceptors.index(self.nack)] = fresh
        return fresh

    def _receive_rtcp(self, data: bytes, now: float) -> None:
        if self.srtp is not None:
            try:
                data = self.srtp.inbound.unprotect_rtcp(data)
            except SrtpError as exc:
                self._count_srtp(exc)
                return
        try:
            packets = parse_rtcp(data)
        except RtcpParseError:
            self.drops.malformed_rtcp += 1
            return
        self.receive_rtcp_packets(packets, now)

    def receive_rtcp_packets(self, packets: list[RtcpPacket], now: float) -> None:
        report = self.reporter.remote_inbound
        for packet in packets:
            self.chain.incoming_rtcp(packet, now)
        if self.reporter.remote_inbound is not report:
            self._report_loss()
        for bye in self.reporter.poll_events():
            if bye.ssrc == self.remote_ssrc:
                self._events.append(RemoteEnded(bye.ssrc, bye.reason))
        if self.nack is not None and self.reporter.round_trip_time is not None:
            self.nack.rtt = self.reporter.round_trip_time
            self._fit_jitter_to_rtt()
        if self.retransmit is not None:
            self._flush_retransmissions(now)

    def _flush_retransmissions(self, now: float) -> None:
        for packet in self.chain.poll_rtp(now):
            if self.sender is not None:
                packet = self.sender.stamp_transport_sequence(packet)
            self._transmit_rtp(bytes(packet))

    def _fit_jitter_to_rtt(self) -> None:
        # A retransmission is only useful if it can arrive before its playout time: with NACK
        # the buffer holds at least one RTT plus the frame that reveals the loss and one of
        # margin (NetEQ does the same when NACK is on). On a long path that would add more
        # latency than a voice conversation tolerates, so past _NACK_MAX_WAIT the buffer stops
        # waiting for retransmissions and FEC/concealment alone repair losses.
        assert self.nack is not None
        jitter = self.jitter
        floor = self.nack.rtt + 2 * _PTIME
        if floor > _NACK_MAX_WAIT:
            floor = 0.0
        jitter.min_delay = min(jitter.max_delay, max(self.config.jitter_min_delay, floor))
        jitter.target_delay = max(jitter.target_delay, jitter.min_delay)

    def _telephone_event(self, payload: bytes, timestamp: int, clock_rate: int) -> None:
        # RFC 4733 §2.3: event, E|R|volume, duration; the end is sent three times.
        if len(payload) < 4:
            self.drops.malformed_rtp += 1
            return
        event, flags, duration = struct.unpack_from("!BBH", payload)
        if not flags & 0x80 or self._last_event == (timestamp, event):
            return
        self._last_event = (timestamp, event)
        self._events.append(TelephoneEvent(_DTMF.get(event, str(event)), duration / clock_rate))

    def _count_srtp(self, exc: SrtpError) -> None:
        from pywebrtc.srtp import SrtpAuthenticationError, SrtpReplayError

        if isinstance(exc, SrtpAuthenticationError):
            self.drops.srtp_auth_failures += 1
        elif isinstance(exc, SrtpReplayError):
            self.drops.srtp_replays += 1
        else:
            self.drops.srtp_other += 1

    # -- playout -----------------------------------------------------------------------

    def _decoder(self, payload_type: int) -> AudioDecoder | None:
        if payload_type in self._decoders:
            return self._decoders[payload_type]
        codec = self._codecs.get(payload_type)
        decoder: AudioDecoder | None = None
        if codec is not None:
            try:
                decoder = create_decoder(
                    codec, channels=self.config.output_channels, backend=self.config.opus_decoder
                )
            except ValueError:
                log.warning("no decoder for %s; its packets are concealed", codec.name)
        self._decoders[payload_type] = decoder
        return decoder

    def _play(self, now: float) -> None:
        item = self.jitter.pop(now)
        if item is None:
            return
        if isinstance(item, JitterFrame):
            pt = item.payload_type
            codec = self._codecs.get(pt)
            if codec is None or codec.key in _NOT_AUDIO:
                # A telephone-event or comfort-noise slot: nothing to decode, keep time going.
                item = JitterLoss(item.sequence, item.timestamp, None)
            elif not self.config.decode:
                self._events.append(EncodedReceived(item.payload, item.timestamp, pt))
                return
            else:
                decoder = self._decoder(pt)
                frame = decoder.decode(item.payload, item.timestamp) if decoder else None
                if frame is not None:
                    self._audio_pt = pt  # conceal with the codec in use
                    self.frames_decoded += 1
                    self.samples_received += frame.samples
                    self._events.append(FrameReceived(frame, False))
                    return
                item = JitterLoss(item.sequence, item.timestamp, None)
        assert isinstance(item, JitterLoss)
        audio_pt = self._audio_pt
        if audio_pt is None:
            return
        if not self.config.decode:
            self._events.append(EncodedReceived(None, item.timestamp, audio_pt))
            return
        decoder = self._decoder(audio_pt)
        if decoder is not None:
            frame = decoder.conceal(item.timestamp, item.next_payload)
            if frame is not None:
                self.frames_concealed += 1
                self._events.append(FrameReceived(frame, True))

    # -- send --------------------------------------------------------------------------

    def send_frame(self, frame: av.AudioFrame, now: float) -> None:
        """Encode and send what the local track's ``recv()`` returned."""
        if self.sender is None or self.config.send_codec is None or self.closed:
            return
        if self.encoder is None:
            self.encoder = self._make_encoder(self.config.send_codec)
            self._report_loss()
        level = None
        if self.config.extension_ids.audio_level is not None:
            level = audio_level(frame)
        sender = self.sender
        for encoded in self.encoder.encode(frame):
            last = self._last_send
            if last is not None and now - last > _PAUSE:
                # The track paused (or the application stalled): the timestamp jumps by the
                # time that passed (RFC 3550 §5.1) and the next packet starts a talkspurt.
                gap = round((now - last - _PTIME) * sender.clock_rate)
                self._media_time += max(0, gap - gap % encoded.duration)
                self._send_started = False
            if self.dtmf is None or not self.dtmf.playing:
                self._send(encoded.payload, self._media_time, now, level)
            else:  # a telephone-event replaces the audio packets (libwebrtc does the same)
                self._last_send = now
            self._media_time += encoded.duration

    def _report_loss(self) -> None:
        """Hand the peer's last report of loss on our stream to the encoder (Opus sizes its
        FEC to it)."""
        report = self.reporter.remote_inbound
        set_loss = getattr(self.encoder, "set_packet_loss", None)
        if report is not None and set_loss is not None:
            set_loss(report.fraction_lost)

    def set_bitrate(self, bitrate: int) -> None:
        """What the transport's bandwidth estimate leaves this stream (bit/s): the Opus encoder
        follows it (libopus only; the PyAV encoder keeps its bitrate), never above the
        configured ``bitrate``, which stays the ceiling."""
        self._bitrate_limit = bitrate
        set_bitrate = getattr(self.encoder, "set_bitrate", None)
        if set_bitrate is not None:
            set_bitrate(min(bitrate, self.config.bitrate))

    def _make_encoder(self, codec: AudioCodec) -> AudioEncoder:
        if codec.key != "opus":
            return create_encoder(codec)
        cfg = self.config
        bitrate = cfg.bitrate
        if self._bitrate_limit is not None:
            bitrate = min(bitrate, self._bitrate_limit)
        return create_opus_encoder(
            codec, bitrate=bitrate, fec=cfg.opus_fec, dtx=cfg.opus_dtx,
            complexity=cfg.opus_complexity, application=cfg.opus_application,
        )  # fmt: skip

    def send_encoded(self, payload: bytes, media_time: int, now: float) -> None:
        """Raw mode: send an already encoded frame captured at ``media_time`` (clock units
        since the stream started; the RTP timestamp is the stream's random base plus it)."""
        if self.sender is None or self.closed:
            return
        if self.dtmf is None or not self.dtmf.playing:
            self._send(payload, media_time, now, None)
        else:
            self._last_send = now
        self._media_time = media_time

    def insert_dtmf(self, tones: str, duration: int, gap: int, now: float) -> None:
        """Replace the tone buffer (W3C insertDTMF; durations in ms, clamped): the first tone
        starts at the next :meth:`tick`. Raises
        :class:`~pywebrtc.media.dtmf.InvalidCharacterError` (a ValueError) for a bad tone, and
        ValueError when no telephone-event was negotiated for sending."""
        if self.dtmf is None or self.closed:
            raise ValueError("no telephone-event negotiated for sending")
        self.dtmf.insert(tones, duration, gap, now)

    def _play_dtmf(self, now: float) -> None:
        dtmf, sender, codec = self.dtmf, self.sender, self.config.dtmf_codec
        if dtmf is None or sender is None or codec is None:
            return
        due = dtmf.deadline()
        if due is None or due > now:
            return
        dtmf.handle_timeout(now)
        while (change := dtmf.poll_change()) is not None:
            self._events.append(change)
        while (item := dtmf.poll_packet()) is not None:
            if item.marker:
                last = self._last_send
                if last is not None and now - last > _PAUSE:  # as in send_frame
                    gap = round((now - last - _PTIME) * sender.clock_rate)
                    frame = sender.clock_rate // 50
                    self._media_time += max(0, gap - gap % frame)
                self._dtmf_start = self._media_time
                self._last_send = now
            # RFC 4733 counts in the event's clock, the stream's timestamps in the audio clock
            # (the same when the peer offers telephone-event at the audio codec's rate).
            scale = sender.clock_rate / codec.clock_rate
            start = self._dtmf_start + round(item.offset * scale)
            packet = sender.packetize(item.payload, start, now, marker=item.marker,
                                      payload_type=codec.payload_type)  # fmt: skip
            self._transmit_rtp(bytes(self.chain.outgoing_rtp(packet, now)))
            if item.last:
                duration = struct.unpack_from("!H", item.payload, 2)[0]
                end = start + round(duration * scale)
                self._media_time = max(self._media_time, end)
                self._last_send = now
                self._send_started = False

    def _send(self, payload: bytes, media_time: int, now: float, level: AudioLevel | None) -> None:
        sender = self.sender
        assert sender is not None
        marker = not self._send_started  # RFC 3551 §4.1: first packet of a talkspurt
        self._send_started = True
        if level is None and len(self.chain.interceptors) == 1 and sender.bare:
            # No extension to write and no interceptor but the reports' (whose outgoing_rtp
            # only starts the report timer): the packet as bytes, no RtpPacket (an echo's).
            data = sender.packetize_bare(payload, media_time, now, marker)
            self._last_send = now
            self.reporter.start(now)
            self._transmit_rtp(data)
            return
        if self._own_chain():
            # The interceptors are the session's own, whose outgoing_rtp is known: the reports'
            # (starts their timer) and the retransmission buffer's (keeps the packet). The
            # packet as bytes from the sender's precomputed header layout, no RtpPacket.
            data = sender.packetize_wire(payload, media_time, now, marker, level)
            self._last_send = now
            self.reporter.start(now)
            if self.retransmit is not None:
                self.retransmit.record(data, now)
            self._transmit_rtp(data)
            return
        packet = sender.packetize(payload, media_time, now, marker=marker, audio_level=level)
        self._last_send = now
        packet = self.chain.outgoing_rtp(packet, now)
        self._transmit_rtp(bytes(packet))

    def _own_chain(self) -> bool:
        """Whether the chain holds the session's own interceptors alone (the reports, and the
        retransmission buffer, NACK generator and transport-cc feedback when on)."""
        return len(self.chain.interceptors) == 1 + (self.retransmit is not None) + (
            self.nack is not None
        ) + (self.twcc is not None)

    def _transmit_rtp(self, data: bytes) -> None:
        if self.srtp is not None:
            try:
                data = self.srtp.outbound.protect_rtp(data)
            except SrtpError:
                self.drops.srtp_other += 1
                return
        self._transmits.append(Transmit(data))

    def _transmit_rtcp(self, packets: list[RtcpPacket]) -> None:
        data = serialize_rtcp(packets)
        if self.srtp is not None:
            try:
                data = self.srtp.outbound.protect_rtcp(data)
            except SrtpError:
                self.drops.srtp_other += 1
                return
        self._transmits.append(Transmit(data))

    # -- timers and output -------------------------------------------------------------

    def deadline(self) -> float | None:
        best = self.chain.deadline()  # asked after every datagram: no tuple, no generator
        playout = self._next_playout
        if playout is not None and (best is None or playout < best):
            best = playout
        dtmf = self.dtmf
        if dtmf is not None and (d := dtmf.deadline()) is not None and (best is None or d < best):
            best = d
        return best

    def tick(self, now: float) -> None:
        if self.dtmf is not None:
            self._play_dtmf(now)
        playout = self._next_playout
        if playout is not None and now >= playout:
            ticks = 0
            hurry = self.config.hurry
            while playout <= now and ticks < _MAX_CATCH_UP:
                self._play(now)
                if hurry and self.jitter.behind():
                    self._play(now)
                playout += _PTIME
                ticks += 1
            if playout <= now:
                playout = now + _PTIME  # far behind: do not replay the backlog
            idle = self._last_packet is not None and now - self._last_packet > _IDLE_AFTER
            self._next_playout = None if idle and not len(self.jitter) else playout
        rtcp = self.chain.poll_rtcp(now)
        if rtcp:
            self._transmit_rtcp(rtcp)
        self._flush_retransmissions(now)

    @property
    def pending(self) -> bool:
        """Whether :meth:`poll` has something."""
        return bool(self._transmits or self._events)

    def poll(self) -> Transmit | SessionEvent | None:
        """The next datagram to send, else the next event, else None."""
        if self._transmits:
            return self._transmits.popleft()
        return self._events.popleft() if self._events else None

    def close(self, now: float, reason: str | None = None) -> None:
        """Send BYE (RFC 3550 §6.6) and stop sending."""
        if self.closed:
            return
        self.closed = True
        if self.dtmf is not None:
            self.dtmf.stop()
        if self.sender is not None and self.sender.packet_count:
            self._transmit_rtcp(self.reporter.bye(now, reason))

    # -- statistics --------------------------------------------------------------------

    def stats(self) -> list[dict[str, float | int | str | None]]:
        """getStats entries with W3C field names (webrtc-stats): inbound-rtp, outbound-rtp,
        remote-inbound-rtp, remote-outbound-rtp, codec. The peer connection adds ids,
        timestamps, transportId/codecId links and media-source."""
        out: list[dict[str, float | int | str | None]] = []
        source = self.reporter.sources.get(self.remote_ssrc or -1)
        if source is not None:
            jb = self.jitter.stats
            out.append(
                {
                    "type": "inbound-rtp",
                    "kind": "audio",
                    "ssrc": source.ssrc,
                    "mid": self.config.mid,
                    "packetsReceived": source.packets_received,
                    "bytesReceived": source.bytes_received,
                    "packetsLost": source.packets_lost,
                    "jitter": source.jitter_seconds,
                    "packetsDiscarded": jb.discarded + jb.late,
                    "concealmentEvents": jb.concealed,
                    "totalSamplesReceived": self.samples_received,
                    "nackCount": self.nack.packets_requested if self.nack else 0,
                    "jitterBufferTargetDelay": self.jitter.target_delay,
                }
            )
        if self.sender is not None:
            out.append(
                {
                    "type": "outbound-rtp",
                    "kind": "audio",
                    "ssrc": self.sender.ssrc,
                    "mid": self.config.mid,
                    "packetsSent": self.sender.packet_count,
                    "bytesSent": self.sender.octet_count,
                    "retransmittedPacketsSent": self.retransmit.retransmitted
                    if self.retransmit
                    else 0,
                    "targetBitrate": getattr(self.encoder, "bitrate", None),
                }
            )
        remote_in = self.reporter.remote_inbound
        if remote_in is not None:
            out.append(
                {
                    "type": "remote-inbound-rtp",
                    "kind": "audio",
                    "ssrc": remote_in.ssrc,
                    "packetsLost": remote_in.packets_lost,
                    "fractionLost": remote_in.fraction_lost,
                    "jitter": remote_in.jitter,
                    "roundTripTime": remote_in.round_trip_time,
                }
            )
        codecs = list(self.config.receive_codecs)
        if self.config.send_codec is not None and self.config.send_codec not in codecs:
            codecs.append(self.config.send_codec)
        for codec in codecs:
            out.append(
                {
                    "type": "codec",
                    "payloadType": codec.payload_type,
                    "mimeType": f"audio/{codec.name}",
                    "clockRate": codec.clock_rate,
                    "channels": codec.channels,
                    "sdpFmtpLine": ";".join(f"{k}={v}" for k, v in codec.parameters.items())
                    or None,
                }
            )
        for remote_out in self.reporter.remote_outbound.values():
            out.append(
                {
                    "type": "remote-outbound-rtp",
                    "kind": "audio",
                    "ssrc": remote_out.ssrc,
                    "packetsSent": remote_out.packets_sent,
                    "bytesSent": remote_out.bytes_sent,
                    "remoteTimestamp": remote_out.remote_timestamp,
                }
            )
        return out


_OPUS_CLOCK = AudioCodec("opus", 111, 48000, 2)
_LEVEL_STRIDE = 8  # every 8th sample (6 kHz for 48 kHz mono): a 1 dB estimate needs no more
try:  # C RMS over every sample in ~2 µs; in the standard library up to Python 3.12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop as _audioop
    _rms: Callable[[bytes, int], int] | None = _audioop.rms
except ImportError:  # pragma: no cover - Python 3.13+
    _rms = None


def audio_level(frame: av.AudioFrame) -> AudioLevel | None:
    """RFC 6464 level (-dBov of the RMS, 0-127) of an s16 frame; None for other formats.

    The RMS comes from ``audioop`` where the standard library has it, else it is estimated
    in Python from every 8th sample (the level is carried with 1 dB resolution).
    """
    if frame.format.name != "s16" or frame.samples == 0:
        return None
    size = frame.samples * 2 * (2 if frame.layout.name == "stereo" else 1)
    if _rms is not None:
        rms = _rms(bytes(frame.planes[0])[:size], 2)
        mean_square = float(rms * rms)
    else:
        samples = memoryview(frame.planes[0]).cast("B")[:size].cast("h")[::_LEVEL_STRIDE]
        values = samples.tolist()
        mean_square = sum(map(operator.mul, values, values)) / len(values)
    if mean_square <= 0:
        return AudioLevel(False, 127)
    dbov = 10 * math.log10(mean_square / (32768.0 * 32768.0))
    level = min(127, max(0, round(-dbov)))
    return AudioLevel(level < 50, level)
