"""The sending side of one RTP stream (RFC 3550 §5.1, RFC 8285 extensions).

:class:`RtpSender` turns encoded media into :class:`RtpPacket` s: one SSRC, a sequence number
that starts at a random value and increments by one (§5.1), a timestamp that starts at a
random offset and advances in media clock units, the marker bit, and the WebRTC header
extensions whose ids were negotiated (sdes:mid, RFC 6464 audio level, abs-send-time, the
transport-wide sequence number). It also keeps the packet and octet counts an SR reports
(§6.4.1). Transport-wide sequence numbers are per transport, not per stream, so several senders
on one BUNDLE transport share a :class:`TransportSequence`.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from .extensions import AudioLevel, abs_send_time_from_seconds, serialize_header_extensions
from .layout import HeaderLayout, LayoutElement, one_byte_layout
from .packet import RtpPacket, _make

__all__ = ["ExtensionIds", "RtpSender", "TransportSequence"]

_BARE_HEADER = struct.Struct("!BBHII")  # RFC 3550 §5.1: V=2, no padding, extension or CSRC


@dataclass(frozen=True, slots=True)
class ExtensionIds:
    """Negotiated RFC 8285 ids (``a=extmap``); ``None`` leaves an extension out."""

    mid: int | None = None
    audio_level: int | None = None
    abs_send_time: int | None = None
    transport_cc: int | None = None


class TransportSequence:
    """The transport-wide sequence counter shared by the streams of one transport."""

    __slots__ = ("next",)

    def __init__(self, start: int = 1) -> None:
        self.next = start & 0xFFFF

    def take(self) -> int:
        value = self.next
        self.next = (value + 1) & 0xFFFF
        return value


class RtpSender:
    """Packetizes frames of one stream.

    ``rng`` chooses the initial sequence number and timestamp (RFC 3550 §5.1 asks for random
    ones); pass a seeded ``random.Random`` in tests.
    """

    __slots__ = (
        "_layout_basis",
        "_layouts",
        "_mid",
        "_timestamp_base",
        "clock_rate",
        "extension_ids",
        "last_rtp_timestamp",
        "last_send_time",
        "octet_count",
        "packet_count",
        "payload_type",
        "sequence_number",
        "ssrc",
        "transport_sequence",
    )

    def __init__(
        self,
        ssrc: int,
        payload_type: int,
        clock_rate: int,
        *,
        extension_ids: ExtensionIds = ExtensionIds(),
        mid: str | None = None,
        transport_sequence: TransportSequence | None = None,
        rng: random.Random | None = None,
    ) -> None:
        rng = rng or random.Random()
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.extension_ids = extension_ids
        self._mid = mid.encode() if mid is not None else None
        if extension_ids.transport_cc is not None and transport_sequence is None:
            transport_sequence = TransportSequence()
        self.transport_sequence = transport_sequence
        # §5.1: random initial values; keep the sequence low enough that a rollover is not
        # imminent (libsrtp guesses the rollover counter from the first packet).
        self.sequence_number = rng.randrange(0, 0x8000)
        self._timestamp_base = rng.randrange(0, 1 << 32)
        self.packet_count = 0
        self.octet_count = 0
        self.last_rtp_timestamp: int | None = None
        self.last_send_time: float | None = None
        # packetize_wire's layouts (without, with an audio level) and what they were made for
        self._layouts: tuple[HeaderLayout | None, HeaderLayout | None] = (None, None)
        self._layout_basis: tuple[object, ...] = ()

    def set_mid(self, mid: str | None) -> None:
        """The sdes:mid value written from now on (renegotiation may change it)."""
        self._mid = mid.encode() if mid is not None else None

    def rtp_timestamp(self, media_time: int) -> int:
        """The RTP timestamp of a media time in clock units since the stream started."""
        return (self._timestamp_base + media_time) & 0xFFFFFFFF

    def packetize(
        self,
        payload: bytes,
        media_time: int,
        now: float,
        *,
        marker: bool = False,
        audio_level: AudioLevel | None = None,
        payload_type: int | None = None,
    ) -> RtpPacket:
        """One RTP packet carrying ``payload`` captured at ``media_time`` (clock units);
        ``payload_type`` overrides the stream's (RFC 4733 events share its sequence space)."""
        seq = self.sequence_number
        self.sequence_number = (seq + 1) & 0xFFFF
        timestamp = self.rtp_timestamp(media_time)
        ids = self.extension_ids
        elements: list[tuple[int, bytes]] = []
        if ids.mid is not None and self._mid is not None:
            elements.append((ids.mid, self._mid))
        if ids.audio_level is not None and audio_level is not None:
            elements.append((ids.audio_level, bytes(audio_level)))
        if ids.abs_send_time is not None:
            elements.append((ids.abs_send_time, abs_send_time_from_seconds(now).to_bytes(3)))
        if ids.transport_cc is not None and self.transport_sequence is not None:
            elements.append((ids.transport_cc, self.transport_sequence.take().to_bytes(2)))
        profile: int | None = None
        block = b""
        if elements:
            profile, block = serialize_header_extensions(elements)
        self.packet_count += 1
        self.octet_count += len(payload)
        if payload_type is None:
            # An RFC 4733 event keeps its start timestamp while it plays: not a clock sample
            # for the sender report's RTP/NTP mapping.
            self.last_rtp_timestamp = timestamp
            self.last_send_time = now
        pt = self.payload_type if payload_type is None else payload_type
        # One packet per frame sent: built without the frozen dataclass's __init__ (_fast).
        ssrc = self.ssrc
        return _make(RtpPacket, pt, seq, timestamp, ssrc, payload, marker, (), profile, block, 0)

    def packetize_bare(self, payload: bytes, media_time: int, now: float, marker: bool) -> bytes:
        """:meth:`packetize` serialized, for a stream that writes no header extension (none
        negotiated: see :attr:`bare`): a 12-byte header and ``payload``, no packet object."""
        seq = self.sequence_number
        self.sequence_number = (seq + 1) & 0xFFFF
        timestamp = (self._timestamp_base + media_time) & 0xFFFFFFFF
        self.packet_count += 1
        self.octet_count += len(payload)
        self.last_rtp_timestamp = timestamp
        self.last_send_time = now
        b1 = (0x80 if marker else 0) | self.payload_type
        return b"".join((_BARE_HEADER.pack(0x80, b1, seq, timestamp, self.ssrc), payload))

    def packetize_wire(
        self,
        payload: bytes,
        media_time: int,
        now: float,
        marker: bool,
        audio_level: AudioLevel | None = None,
    ) -> bytes:
        """``bytes(packetize(...))`` for the stream's own payload type, the same bytes, with the
        header and extensions written by one precomputed layout (:mod:`.layout`) and no packet
        object (one per packet sent)."""
        basis = self._layout_basis
        if (
            not basis
            or basis[0] is not self.extension_ids
            or basis[1] is not self._mid
            or basis[2] is not self.transport_sequence
        ):
            self._make_layouts()
        layout = self._layouts[audio_level is not None]
        if layout is None:  # (ids or values the one-byte form cannot carry)
            return bytes(
                self.packetize(payload, media_time, now, marker=marker, audio_level=audio_level)
            )
        seq = self.sequence_number
        self.sequence_number = (seq + 1) & 0xFFFF
        timestamp = (self._timestamp_base + media_time) & 0xFFFFFFFF
        level = bytes(audio_level)[0] if audio_level is not None else 0
        ast = abs_send_time_from_seconds(now) if layout.abs_send_time else 0
        tseq = 0
        if layout.transport_cc:
            assert self.transport_sequence is not None
            tseq = self.transport_sequence.take()
        self.packet_count += 1
        self.octet_count += len(payload)
        self.last_rtp_timestamp = timestamp
        self.last_send_time = now
        b1 = (0x80 if marker else 0) | self.payload_type
        header = layout.pack(b1, seq, timestamp, self.ssrc, level, ast, tseq)
        return b"".join((header, payload))

    def _make_layouts(self) -> None:
        ids = self.extension_ids
        # The elements packetize writes, in its order (the audio level only when given one).
        before: list[LayoutElement] = []
        after: list[LayoutElement] = []
        if ids.mid is not None and self._mid is not None:
            before.append(LayoutElement(ids.mid, "constant", self._mid))
        if ids.abs_send_time is not None:
            after.append(LayoutElement(ids.abs_send_time, "abs-send-time"))
        if ids.transport_cc is not None and self.transport_sequence is not None:
            after.append(LayoutElement(ids.transport_cc, "transport-cc"))
        with_level = None
        if ids.audio_level is not None:
            level = [LayoutElement(ids.audio_level, "audio-level")]
            with_level = one_byte_layout(before + level + after)
        else:
            with_level = one_byte_layout(before + after)
        self._layouts = (one_byte_layout(before + after), with_level)
        self._layout_basis = (ids, self._mid, self.transport_sequence)

    @property
    def bare(self) -> bool:
        """Whether :meth:`packetize` writes no header extension (unless given an audio level)."""
        ids = self.extension_ids
        return (
            (ids.mid is None or self._mid is None)
            and ids.abs_send_time is None
            and (ids.transport_cc is None or self.transport_sequence is None)
        )

    def stamp_transport_sequence(self, packet: RtpPacket) -> RtpPacket:
        """A retransmission needs a fresh transport-wide number (TWCC counts each send)."""
        ids = self.extension_ids
        if ids.transport_cc is None or self.transport_sequence is None:
            return packet
        elements = dict(packet.extensions)
        elements[ids.transport_cc] = self.transport_sequence.take().to_bytes(2)
        return packet.with_extensions(elements)
