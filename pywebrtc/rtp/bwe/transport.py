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

:meth:`audio_bitrate` is what one audio stream may encode at: the target less the headers its
packets carry, shared equally by the audio streams, audio taking its share first (video, when it
comes, gets ``target_bitrate`` minus what audio uses).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..reports import RemoteInbound
from ..rtcp import Remb, RtcpPacket, TransportCcFeedback
from .estimator import BandwidthEstimator, TargetBitrateChanged

__all__ = ["WIRE_OVERHEAD", "TransportBandwidth", "transport_sequence_number"]

WIRE_OVERHEAD = 20 + 8 + 16  # IPv4 (RFC 791) + UDP (RFC 768) + SRTP AEAD tag (RFC 7714 §5)
_ONE_BYTE = 0xBEDE  # RFC 8285 §4.2
_TWO_BYTE_MASK, _TWO_BYTE = 0xFFF0, 0x1000  # RFC 8285 §4.3
_AUDIO_PACKET_RATE = 50  # 20 ms frames


def transport_sequence_number(data: bytes, ext_id: int) -> tuple[int, int] | None:
    """``(transport-wide sequence number, header length)`` of a plain RTP packet, or None
    when it carries none (or is too short or malformed to tell)."""
    n = len(data)
    if n < 12 or not data[0] & 0x10 or 192 <= data[1] <= 223:  # RFC 5761 §4: RTCP
        return None
    pos = 12 + 4 * (data[0] & 0x0F)
    if pos + 4 > n:
        return None
    profile = data[pos] << 8 | data[pos + 1]
    end = pos + 4 + 4 * (data[pos + 2] << 8 | data[pos + 3])
    if end > n:
        return None
    i = pos + 4
    if profile == _ONE_BYTE:
        while i < end:
            b = data[i]
            ident = b >> 4
            if ident == 0:
                i += 1
                continue
            if ident == 15:
                break
            length = (b & 0x0F) + 1
            if ident == ext_id:
                return (data[i + 1] << 8 | data[i + 2], end) if length == 2 else None
            i += 1 + length
    elif profile & _TWO_BYTE_MASK == _TWO_BYTE:
        while i + 1 < end:
            ident = data[i]
            if ident == 0:
                i += 1
                continue
            length = data[i + 1]
            if ident == ext_id:
                return (data[i + 2] << 8 | data[i + 3], end) if length == 2 else None
            i += 2 + length
    return None


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
