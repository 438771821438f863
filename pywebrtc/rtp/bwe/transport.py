"""One BUNDLE transport's estimator fed from plain RTP and RTCP, and its target shared out.

:class:`TransportBandwidth` sits where the peer connection sees every plain RTP packet it is
about to protect and every RTCP packet it unprotected:

* :meth:`sent` reads the transport-wide sequence number (RFC 8285 one- or two-byte form, the id
  negotiated for draft-holmer-rmcat-transport-wide-cc-extensions-01) straight from the packet's
  bytes and reports the packet's size on the wire: the RTP packet plus ``WIRE_OVERHEAD`` (IPv4 and
  UDP headers, the SRTP authentication tag). It also keeps the average per-packet overhead, the
  part of the target a codec cannot use.
* :meth:`receive_rtcp` gives transport-cc feedback and REMB to the estimator; :meth:`loss_report`
  the report blocks about our streams (RFC 3550 §6.4.1) the RTP sessions decoded.

:meth:`shares` splits the target between the streams that send on the transport. Audio takes
its share first: the target less the headers its packets carry, shared equally by the audio
streams (:meth:`audio_bitrate`), each using at most its own ceiling (the configured Opus
bitrate). Video gets what audio leaves, less the headers of full-size packets, shared equally
by the video senders (an encoder's bitrate; a pass-through sender's share is only advice, see
``availableOutgoingBitrate``). :func:`video_framerate` is the frame rate rule for an encoder's
share: at most ``max_framerate`` (30 by default), fewer frames when the bits would spread below
``BITS_PER_PIXEL`` a pixel a frame, never below ``MIN_FRAMERATE``: 640x480 keeps 30 frames a
second down to ~370 kbit/s and has 15 at ~185 kbit/s; 320x240 keeps 30 down to ~92 kbit/s.
REMB needs nothing here: it caps the estimator's target, which all shares come from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..extensions import extension_value_offset
from ..reports import RemoteInbound
from ..rtcp import Remb, RtcpPacket, TransportCcFeedback
from .estimator import BandwidthEstimator, TargetBitrateChanged

__all__ = [
    "BITS_PER_PIXEL",
    "MIN_FRAMERATE",
    "OPUS_MIN_BITRATE",
    "WIRE_OVERHEAD",
    "Shares",
    "TransportBandwidth",
    "transport_sequence_number",
    "video_framerate",
]

WIRE_OVERHEAD = 20 + 8 + 16  # IPv4 (RFC 791) + UDP (RFC 768) + SRTP AEAD tag (RFC 7714 §5)
_AUDIO_PACKET_RATE = 50  # 20 ms frames
OPUS_MIN_BITRATE = 6000  # RFC 7587 §3.1.1: 6 to 510 kbit/s
VIDEO_PAYLOAD = 1200  # bytes of RTP payload in a full video packet (VideoSessionConfig.mtu)
BITS_PER_PIXEL = 0.04  # the least bits a pixel a frame before frames are dropped instead
MIN_FRAMERATE = 5.0


@dataclass(frozen=True, slots=True)
class Shares:
    """Bit/s each audio stream may encode at (before its own ceiling), and each video sender
    (None without video senders)."""

    audio: int
    video: int | None


def video_framerate(bitrate: int, width: int, height: int, max_framerate: float) -> float:
    """Frames a second an encoder at ``bitrate`` should send at ``width`` x ``height`` (see
    the module docstring): whole frames, within [MIN_FRAMERATE, max_framerate]."""
    pixels = max(width * height, 1)
    wanted = float(int(bitrate / (pixels * BITS_PER_PIXEL)))
    return max(min(MIN_FRAMERATE, max_framerate), min(wanted, max_framerate))


def transport_sequence_number(data: bytes, ext_id: int) -> tuple[int, int] | None:
    """``(transport-wide sequence number, header length)`` of a plain RTP packet, or None
    when it carries none (or is too short or malformed to tell)."""
    if len(data) < 12 or 192 <= data[1] <= 223:  # RFC 5761 §4: RTCP
        return None
    found = extension_value_offset(data, ext_id)
    if found is None or found[1] != 2:
        return None
    offset = found[0]
    pos = 12 + 4 * (data[0] & 0x0F)  # the extension block (there is one: found above)
    end = pos + 4 + 4 * (data[pos + 2] << 8 | data[pos + 3])
    return data[offset] << 8 | data[offset + 1], end


class TransportBandwidth:
    __slots__ = ("_losses", "estimator", "overhead")

    def __init__(self, estimator: BandwidthEstimator | None = None) -> None:
        self.estimator = estimator or BandwidthEstimator()
        self.overhead = 12.0 + WIRE_OVERHEAD  # bytes per packet, running average
        self._losses: dict[int, RemoteInbound] = {}

    def sent(self, data: bytes, ext_id: int, now: float) -> None:
        """A plain RTP packet about to be protected and sent."""
        found = transport_sequence_number(data, ext_id)
        if found is None:
            return
        seq, header = found
        self.overhead += (header + WIRE_OVERHEAD - self.overhead) / 16
        self.estimator.on_packet_sent(seq, len(data) + WIRE_OVERHEAD, now)

    def receive_rtcp(self, packets: Iterable[RtcpPacket], now: float) -> None:
        estimator = self.estimator
        for packet in packets:
            if type(packet) is TransportCcFeedback:
                estimator.on_transport_feedback(packet, now)
            elif type(packet) is Remb:
                estimator.on_remb(packet.bitrate, now)

    def loss_report(self, report: RemoteInbound, now: float) -> None:
        """The last report block an RTP session decoded about our stream; the same one given
        again (the session's last, unchanged) is not counted twice."""
        if self._losses.get(report.ssrc) is report:
            return
        self._losses[report.ssrc] = report
        self.estimator.on_loss_report(report.fraction_lost, report.round_trip_time, now)

    def changed(self) -> TargetBitrateChanged | None:
        """The newest target change not yet taken (older ones are dropped)."""
        last = None
        while (event := self.estimator.poll()) is not None:
            last = event
        return last

    @property
    def target_bitrate(self) -> int:
        return self.estimator.target_bitrate

    def audio_bitrate(self, streams: int) -> int:
        """Bit/s one of ``streams`` 20 ms audio streams may encode at (before any clamp)."""
        headers = _AUDIO_PACKET_RATE * 8 * self.overhead
        return int((self.target_bitrate - streams * headers) / max(streams, 1))

    def shares(self, audio_ceilings: Sequence[int], video_senders: int) -> Shares:
        """The target shared by audio streams whose encoders go up to ``audio_ceilings``
        (bit/s, one per stream) and ``video_senders`` video senders (see the module
        docstring)."""
        audio = 0
        used = 0.0
        if audio_ceilings:
            audio = max(OPUS_MIN_BITRATE, self.audio_bitrate(len(audio_ceilings)))
            headers = _AUDIO_PACKET_RATE * 8 * self.overhead
            used = sum(min(audio, ceiling) + headers for ceiling in audio_ceilings)
        if video_senders <= 0:
            return Shares(audio, None)
        left = max(0.0, self.target_bitrate - used)
        payload = VIDEO_PAYLOAD / (VIDEO_PAYLOAD + self.overhead)
        return Shares(audio, int(left * payload / video_senders))
