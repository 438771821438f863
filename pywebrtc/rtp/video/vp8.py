"""VP8 RTP payload format (RFC 7741): the payload descriptor (§4.2), packetization (§4.5) and
keyframe detection from the VP8 payload header (§4.3).

The packetizer writes what libwebrtc writes in its default mode: X=1, I=1 with a 15-bit picture
ID (M=1), S=1 and partition index 0 on the first packet, the frame split into near-equal pieces,
no L/T/K fields. It does not split along partition boundaries (PID stays 0), which RFC 7741
§4.4 allows. The parser reads every field, including TL0PICIDX, TID/Y and KEYIDX.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PayloadDescriptorError
from .payload import DescriptorReader, PayloadChunk, split_sizes

__all__ = ["Vp8Descriptor", "depacketize_vp8", "packetize_vp8", "parse_vp8_descriptor"]

PICTURE_ID_MASK = 0x7FFF  # RFC 7741 §4.2: M=1 gives 15 bits


@dataclass(frozen=True, slots=True)
class Vp8Descriptor:
    """The RFC 7741 §4.2 payload descriptor; ``size`` is its length in bytes."""

    start: bool  # S: first packet of a partition
    partition_index: int  # PID, 3 bits
    non_reference: bool = False  # N
    picture_id: int | None = None  # 7 or 15 bits
    long_picture_id: bool = True  # M: picture_id written in 15 bits
    tl0_pic_idx: int | None = None
    tid: int | None = None  # with Y, present when T or K is
    layer_sync: bool = False  # Y
    key_idx: int | None = None

    @property
    def size(self) -> int:
        n = 1
        if self._extended:
            n += 1
            if self.picture_id is not None:
                n += 2 if self.long_picture_id else 1
            if self.tl0_pic_idx is not None:
                n += 1
            if self.tid is not None or self.key_idx is not None:
                n += 1
        return n

    @property
    def _extended(self) -> bool:
        return (self.picture_id is not None or self.tl0_pic_idx is not None
                or self.tid is not None or self.key_idx is not None)  # fmt: skip

    def __bytes__(self) -> bytes:
        extended = self._extended
        out = bytearray(
            [(0x80 if extended else 0) | (0x20 if self.non_reference else 0)
             | (0x10 if self.start else 0) | (self.partition_index & 0x07)]
        )  # fmt: skip
        if not extended:
            return bytes(out)
        tk = self.tid is not None or self.key_idx is not None
        out.append(
            (0x80 if self.picture_id is not None else 0)
            | (0x40 if self.tl0_pic_idx is not None else 0)
            | (0x20 if self.tid is not None else 0)
            | (0x10 if self.key_idx is not None else 0)
        )
        if self.picture_id is not None:
            if self.long_picture_id:
                pid = self.picture_id & PICTURE_ID_MASK
                out += bytes([0x80 | pid >> 8, pid & 0xFF])
            else:
                out.append(self.picture_id & 0x7F)
        if self.tl0_pic_idx is not None:
            out.append(self.tl0_pic_idx & 0xFF)
        if tk:
            out.append(
                ((self.tid or 0) & 0x03) << 6 | (0x20 if self.layer_sync else 0)
                | ((self.key_idx or 0) & 0x1F)
            )  # fmt: skip
        return bytes(out)


def parse_vp8_descriptor(payload: bytes) -> Vp8Descriptor:
    """Parse the descriptor at the start of a VP8 RTP payload; raise
    :class:`~pywebrtc.rtp.PayloadDescriptorError` if it is truncated."""
    if not payload:
        raise PayloadDescriptorError("empty VP8 payload")
    r = DescriptorReader(payload, "VP8")
    b0 = r.byte("first byte")
    start = bool(b0 & 0x10)
    pid = b0 & 0x07
    non_ref = bool(b0 & 0x20)
    if not b0 & 0x80:
        return Vp8Descriptor(start=start, partition_index=pid, non_reference=non_ref)
    b1 = r.byte("X byte")
    picture_id: int | None = None
    long_id = True
    if b1 & 0x80:
        picture_id, long_id = r.picture_id()
    tl0: int | None = None
    if b1 & 0x40:
        tl0 = r.byte("TL0PICIDX")
    tid: int | None = None
    key_idx: int | None = None
    sync = False
    if b1 & 0x30:
        b = r.byte("TID/KEYIDX")
        if b1 & 0x20:
            tid = b >> 6
            sync = bool(b & 0x20)
        if b1 & 0x10:
            key_idx = b & 0x1F
    return Vp8Descriptor(
        start=start,
        partition_index=pid,
        non_reference=non_ref,
        picture_id=picture_id,
        long_picture_id=long_id,
        tl0_pic_idx=tl0,
        tid=tid,
        layer_sync=sync,
        key_idx=key_idx,
    )


def depacketize_vp8(payload: bytes) -> PayloadChunk:
    """Split a VP8 RTP payload into its descriptor facts and the VP8 data it carries.

    The packet starts a frame when S=1 and PID=0 (RFC 7741 §4.2); there the VP8 payload header
    begins, and its P bit (bit 0 of the first byte, §4.3) is 0 for a keyframe."""
    d = parse_vp8_descriptor(payload)
    data = payload[d.size :]
    start = d.start and d.partition_index == 0
    if not data:
        raise PayloadDescriptorError("VP8 packet carries no data")
    keyframe = start and not data[0] & 0x01
    return PayloadChunk(start=start, keyframe=keyframe, picture_id=d.picture_id, data=data)


def packetize_vp8(
    frame: bytes, max_payload_size: int, *, picture_id: int | None = None,
    non_reference: bool = False,
) -> list[bytes]:  # fmt: skip
    """Split one encoded VP8 frame into RTP payloads of at most ``max_payload_size`` bytes
    (descriptor included). The caller sets the RTP marker bit on the last one (RFC 7741 §4.1)
    and gives all of them the frame's timestamp."""
    first = Vp8Descriptor(start=True, partition_index=0, non_reference=non_reference,
                          picture_id=picture_id)  # fmt: skip
    head = bytes(first)
    rest = bytes(Vp8Descriptor(start=False, partition_index=0, non_reference=non_reference,
                               picture_id=picture_id))  # fmt: skip
    if not frame:
        raise ValueError("empty VP8 frame")
    room = max_payload_size - len(head)
    if room < 1:
        raise ValueError(f"max_payload_size {max_payload_size} leaves no room for data")
    out: list[bytes] = []
    pos = 0
    for k, size in enumerate(split_sizes(len(frame), room)):
        out.append((head if k == 0 else rest) + frame[pos : pos + size])
        pos += size
    return out
