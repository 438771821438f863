"""VP9 RTP payload format (RFC 9628): the payload descriptor (§4.2) with its scalability
structure (§4.2.1), packetization (§4.4) and keyframe detection from the descriptor.

The packetizer sends one spatial and one temporal layer in non-flexible mode (F=0), written as
libwebrtc expects to receive it: I=1 with a 15-bit picture ID, L=1 (TID 0, SID 0) with
TL0PICIDX, P=0 on keyframes, B on the first packet, E on the last, and the scalability
structure (V=1) on a keyframe's first packet. The parser reads every
field, flexible mode's reference indices and the SS included. A frame of several spatial layers
is not reassembled into one superframe: the frame assembler works per RTP marker, which is one
layer frame only when there is a single spatial layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PayloadDescriptorError
from .payload import DescriptorReader, PayloadChunk, split_sizes

__all__ = [
    "Vp9Descriptor",
    "Vp9ScalabilityStructure",
    "depacketize_vp9",
    "packetize_vp9",
    "parse_vp9_descriptor",
]

PICTURE_ID_MASK = 0x7FFF  # RFC 9628 §4.2: M=1 gives 15 bits
MAX_REFERENCES = 3  # §4.2: at most 3 P_DIFF in flexible mode


@dataclass(frozen=True, slots=True)
class Vp9ScalabilityStructure:
    """RFC 9628 §4.2.1: ``spatial_layers`` (N_S + 1), their resolutions when Y is set, and the
    picture group (G) as (TID, U, P_DIFFs) per picture."""

    spatial_layers: int
    resolutions: tuple[tuple[int, int], ...] | None = None
    group: tuple[tuple[int, bool, tuple[int, ...]], ...] | None = None

    def __bytes__(self) -> bytes:
        out = bytearray([((self.spatial_layers - 1) & 0x07) << 5
                         | (0x10 if self.resolutions is not None else 0)
                         | (0x08 if self.group is not None else 0)])  # fmt: skip
        for width, height in self.resolutions or ():
            out += width.to_bytes(2, "big") + height.to_bytes(2, "big")
        if self.group is not None:
            out.append(len(self.group))
            for tid, switching_up, diffs in self.group:
                out.append((tid & 0x07) << 5 | (0x10 if switching_up else 0) | len(diffs) << 2)
                out += bytes(diffs)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class Vp9Descriptor:
    """The RFC 9628 §4.2 payload descriptor; ``size`` is its length in bytes."""

    start_of_frame: bool  # B
    end_of_frame: bool  # E
    inter_predicted: bool = True  # P
    flexible: bool = False  # F
    not_reference: bool = False  # Z
    picture_id: int | None = None
    long_picture_id: bool = True  # M
    # L: layer indices
    tid: int | None = None
    switching_up: bool = False  # U
    sid: int = 0
    inter_layer: bool = False  # D
    tl0_pic_idx: int | None = None  # non-flexible mode with L
    p_diffs: tuple[int, ...] = ()  # flexible mode with P
    ss: Vp9ScalabilityStructure | None = None  # V

    @property
    def size(self) -> int:
        return len(bytes(self))

    def __bytes__(self) -> bytes:
        layers = self.tid is not None
        out = bytearray([(0x80 if self.picture_id is not None else 0)
                         | (0x40 if self.inter_predicted else 0) | (0x20 if layers else 0)
                         | (0x10 if self.flexible else 0) | (0x08 if self.start_of_frame else 0)
                         | (0x04 if self.end_of_frame else 0) | (0x02 if self.ss else 0)
                         | (0x01 if self.not_reference else 0)])  # fmt: skip
        if self.picture_id is not None:
            if self.long_picture_id:
                pid = self.picture_id & PICTURE_ID_MASK
                out += bytes([0x80 | pid >> 8, pid & 0xFF])
            else:
                out.append(self.picture_id & 0x7F)
        if layers:
            out.append(((self.tid or 0) & 0x07) << 5 | (0x10 if self.switching_up else 0)
                       | (self.sid & 0x07) << 1 | (0x01 if self.inter_layer else 0))  # fmt: skip
            if not self.flexible:
                out.append((self.tl0_pic_idx or 0) & 0xFF)
        if self.flexible and self.inter_predicted:
            for k, diff in enumerate(self.p_diffs):
                more = k + 1 < len(self.p_diffs)
                out.append((diff & 0x7F) << 1 | (0x01 if more else 0))
        if self.ss is not None:
            out += bytes(self.ss)
        return bytes(out)


def _parse_ss(r: DescriptorReader) -> Vp9ScalabilityStructure:
    b = r.byte("SS")
    layers = (b >> 5) + 1
    resolutions: tuple[tuple[int, int], ...] | None = None
    if b & 0x10:
        sizes = []
        for _ in range(layers):
            w = r.byte("SS width") << 8 | r.byte("SS width")
            h = r.byte("SS height") << 8 | r.byte("SS height")
            sizes.append((w, h))
        resolutions = tuple(sizes)
    group: tuple[tuple[int, bool, tuple[int, ...]], ...] | None = None
    if b & 0x08:
        pictures = []
        for _ in range(r.byte("SS N_G")):
            g = r.byte("SS picture")
            diffs = tuple(r.byte("SS P_DIFF") for _ in range((g >> 2) & 0x03))
            pictures.append((g >> 5, bool(g & 0x10), diffs))
        group = tuple(pictures)
    return Vp9ScalabilityStructure(layers, resolutions, group)


def parse_vp9_descriptor(payload: bytes) -> Vp9Descriptor:
    """Parse the descriptor at the start of a VP9 RTP payload; raise
    :class:`~pywebrtc.rtp.PayloadDescriptorError` if it is truncated or has more than three
    reference indices."""
    r = DescriptorReader(payload, "VP9")
    b0 = r.byte("first byte")
    inter, flexible = bool(b0 & 0x40), bool(b0 & 0x10)
    picture_id: int | None = None
    long_id = True
    if b0 & 0x80:
        picture_id, long_id = r.picture_id()
    tid: int | None = None
    switching_up = inter_layer = False
    sid = 0
    tl0: int | None = None
    if b0 & 0x20:
        b = r.byte("layer indices")
        tid, switching_up, sid, inter_layer = b >> 5, bool(b & 0x10), (b >> 1) & 0x07, bool(b & 1)
        if not flexible:
            tl0 = r.byte("TL0PICIDX")
    diffs: list[int] = []
    if flexible and inter:
        while True:
            b = r.byte("P_DIFF")
            diffs.append(b >> 1)
            if not b & 0x01:
                break
            if len(diffs) == MAX_REFERENCES:
                raise PayloadDescriptorError("VP9 descriptor has more than 3 reference indices")
    ss = _parse_ss(r) if b0 & 0x02 else None
    return Vp9Descriptor(
        start_of_frame=bool(b0 & 0x08),
        end_of_frame=bool(b0 & 0x04),
        inter_predicted=inter,
        flexible=flexible,
        not_reference=bool(b0 & 0x01),
        picture_id=picture_id,
        long_picture_id=long_id,
        tid=tid,
        switching_up=switching_up,
        sid=sid,
        inter_layer=inter_layer,
        tl0_pic_idx=tl0,
        p_diffs=tuple(diffs),
        ss=ss,
    )


def depacketize_vp9(payload: bytes) -> PayloadChunk:
    """Split a VP9 RTP payload into its descriptor facts and the VP9 data it carries. A frame
    starts at B=1 in the base spatial layer; it is a keyframe when P=0 there (RFC 9628 §4.2:
    no inter-picture prediction)."""
    d = parse_vp9_descriptor(payload)
    data = payload[d.size :]
    if not data:
        raise PayloadDescriptorError("VP9 packet carries no data")
    start = d.start_of_frame and d.sid == 0
    keyframe = start and not d.inter_predicted
    return PayloadChunk(start=start, keyframe=keyframe, picture_id=d.picture_id, data=data)


def packetize_vp9(
    frame: bytes,
    max_payload_size: int,
    *,
    keyframe: bool,
    picture_id: int,
    resolution: tuple[int, int] | None = None,
) -> list[bytes]:
    """Split one encoded VP9 frame (one spatial and one temporal layer) into RTP payloads of at
    most ``max_payload_size`` bytes, descriptor included. The caller sets the RTP marker bit on
    the last one (RFC 9628 §4.1) and gives all of them the frame's timestamp.

    Every frame is in the base temporal layer, so TL0PICIDX counts frames: it is the low byte
    of the picture ID, which stays consistent when the 15-bit ID wraps. A keyframe's first
    packet carries the scalability structure (one layer, ``resolution`` when given, a group of
    one picture referring to the previous one); libwebrtc drops non-flexible frames without
    TL0PICIDX and keyframes without it."""
    if not frame:
        raise ValueError("empty VP9 frame")
    ss = (
        Vp9ScalabilityStructure(1, (resolution,) if resolution else None, ((0, False, (1,)),))
        if keyframe
        else None
    )

    def descriptor(first: bool, last: bool) -> bytes:
        return bytes(
            Vp9Descriptor(
                start_of_frame=first, end_of_frame=last, inter_predicted=not keyframe,
                picture_id=picture_id, tid=0, sid=0, tl0_pic_idx=picture_id & 0xFF,
                ss=ss if first else None,
            )
        )  # fmt: skip

    room = max_payload_size - len(descriptor(True, True))
    if room < 1:
        raise ValueError(f"max_payload_size {max_payload_size} leaves no room for data")
    sizes = split_sizes(len(frame), room)
    out: list[bytes] = []
    pos = 0
    for k, size in enumerate(sizes):
        out.append(descriptor(k == 0, k == len(sizes) - 1) + frame[pos : pos + size])
        pos += size
    return out
