"""AV1 RTP payload format (AOM "RTP Payload Format For AV1", v1.0.0): the aggregation header
(§4.4), OBU elements with LEB128 lengths (§4.3), packetization (§5) and the frame's OBU stream
rebuilt on the receive side (§7).

Packetizer: one temporal unit in the low-overhead bitstream format (AV1 §5.2, what encoders
write) is split into OBUs; temporal delimiters, tile lists and padding are dropped (§5: SHOULD
be removed); each OBU is sent with ``obu_has_size_field`` cleared and its ``obu_size`` removed
(the element length carries it, §4.3); elements are packed greedily into payloads of at most
``max_payload_size`` bytes, an OBU fragmented across packets where it does not fit (Z/Y), and
W set to the element count when it is 1 to 3 (the last element then has no length field), as
libwebrtc writes it. N is set on the first packet when the temporal unit holds a sequence header
(a new coded video sequence starts there: the encoders we use write one only with a keyframe).

Receiver: :func:`depacketize_av1` reads one payload into a :class:`PayloadChunk` for the
:class:`~pywebrtc.rtp.video.FrameAssembler` (its AV1 part is :data:`AV1`, whose frames are
temporal units ready for a decoder). Its ``data`` is not yet AV1: it is the payload
with its elements rewritten to carry explicit lengths (see :func:`depacketize_av1`), because an
OBU fragmented across packets gets its ``obu_size`` only once every fragment is in. The
assembler concatenates the chunks of one frame as it does for VP8; :func:`assemble_av1_frame`
turns that into the temporal unit a decoder takes (a temporal delimiter, then every OBU with
``obu_has_size_field`` set). A packet starts a frame when it does not continue a fragment (Z=0)
and its first OBU is a sequence header, frame header or frame OBU of spatial layer 0; it starts
a keyframe when N=1 as well. Not supported: several frames (spatial layers, or a shown
existing frame next to a new one) in one temporal unit, which would read as a second frame
start; the dependency descriptor header extension (libwebrtc's other way to mark frames).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import PayloadDescriptorError
from .assembler import ChunkFormat, JoinedFrame
from .payload import PayloadChunk

__all__ = [
    "AV1",
    "Av1Format",
    "Av1PayloadError",
    "assemble_av1_frame",
    "depacketize_av1",
    "depacketize_av1_frame",
    "packetize_av1",
]

# AV1 §6.2.2 obu_type
OBU_SEQUENCE_HEADER = 1
OBU_TEMPORAL_DELIMITER = 2
OBU_FRAME_HEADER = 3
OBU_TILE_GROUP = 4
OBU_METADATA = 5
OBU_FRAME = 6
OBU_REDUNDANT_FRAME_HEADER = 7
OBU_TILE_LIST = 8
OBU_PADDING = 15
_DROPPED = frozenset({OBU_TEMPORAL_DELIMITER, OBU_TILE_LIST, OBU_PADDING})  # RTP spec §5
_FRAME_STARTS = frozenset({OBU_SEQUENCE_HEADER, OBU_FRAME_HEADER, OBU_FRAME})

# aggregation header bits (RTP spec §4.4): |Z|Y|W W|N|-|-|-|
_Z = 0x80
_Y = 0x40
_W_SHIFT = 4
_N = 0x08

_EXTENSION_FLAG = 0x04  # OBU header (AV1 §5.3.2)
_HAS_SIZE_FIELD = 0x02
_MAX_LEB128_BYTES = 8  # AV1 §4.10.5
_TEMPORAL_DELIMITER = bytes([OBU_TEMPORAL_DELIMITER << 3 | _HAS_SIZE_FIELD, 0])


class Av1PayloadError(PayloadDescriptorError):
    """An AV1 RTP payload, or a temporal unit given to the packetizer, is malformed."""


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_leb128(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """(value, position after it); AV1 §4.10.5 allows 8 bytes and values below 2**32."""
    value = 0
    for i in range(_MAX_LEB128_BYTES):
        if pos + i >= len(data):
            raise Av1PayloadError(f"AV1 {what} length truncated")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if value >= 1 << 32:
                raise Av1PayloadError(f"AV1 {what} length {value} out of range")
            return value, pos + i + 1
    raise Av1PayloadError(f"AV1 {what} length longer than {_MAX_LEB128_BYTES} bytes")


def _split_obus(temporal_unit: bytes) -> list[bytes]:
    """The OBUs of a low-overhead bitstream temporal unit, each as header (``obu_has_size_field``
    cleared) + payload, the ones RTP does not carry dropped."""
    out = []
    pos = 0
    data = temporal_unit
    while pos < len(data):
        header = data[pos]
        if header & 0x80:
            raise Av1PayloadError("AV1 OBU forbidden bit set")
        head_len = 2 if header & _EXTENSION_FLAG else 1
        if pos + head_len > len(data):
            raise Av1PayloadError("AV1 OBU header truncated")
        head = bytes([header & ~_HAS_SIZE_FIELD & 0xFF]) + data[pos + 1 : pos + head_len]
        if header & _HAS_SIZE_FIELD:
            size, start = _read_leb128(data, pos + head_len, "OBU")
            end = start + size
            if end > len(data):
                raise Av1PayloadError("AV1 OBU longer than the temporal unit")
        else:  # no size field: the OBU runs to the end (AV1 §5.2 allows it for the last one)
            start, end = pos + head_len, len(data)
        if (header >> 3) & 0x0F not in _DROPPED:
            out.append(head + data[start:end])
        pos = end
    return out


def _payload_size(lengths: list[int], last: int) -> int:
    """Size of a payload holding elements of ``lengths`` and then one of ``last`` bytes."""
    n = 1 + sum(len(_leb128(n)) + n for n in lengths)
    return n + last if len(lengths) < 3 else n + len(_leb128(last)) + last


def _write(elements: list[bytes], z: bool, y: bool, n: bool) -> bytes:
    count = len(elements)
    w = count if count <= 3 else 0
    out = bytearray([(_Z if z else 0) | (_Y if y else 0) | w << _W_SHIFT | (_N if n else 0)])
    for i, element in enumerate(elements):
        if not (w and i == count - 1):
            out += _leb128(len(element))
        out += element
    return bytes(out)


def packetize_av1(
    frame: bytes, max_payload_size: int, *, keyframe: bool | None = None
) -> list[bytes]:
    """Split one temporal unit into RTP payloads of at most ``max_payload_size`` bytes. The
    caller sets the marker bit on the last one (RTP spec §4.2: the end of the temporal unit)
    and gives all of them the frame's timestamp. ``keyframe`` overrides the N bit (default:
    set when the temporal unit holds a sequence header). Raises :class:`Av1PayloadError` for a
    malformed temporal unit and ``ValueError`` for a size leaving no room."""
    if max_payload_size < 3:  # aggregation header, a 1-byte length, 1 byte of OBU
        raise ValueError(f"max_payload_size {max_payload_size} leaves no room for data")
    obus = _split_obus(frame)
    if not obus:
        raise Av1PayloadError("AV1 temporal unit holds no OBU to send")
    if keyframe is None:
        keyframe = any((o[0] >> 3) & 0x0F == OBU_SEQUENCE_HEADER for o in obus)
    packets: list[bytes] = []
    current: list[bytes] = []
    z = False  # the current packet starts with a fragment's continuation
    for obu in obus:
        rest = obu
        while rest:
            if _payload_size([len(e) for e in current], len(rest)) <= max_payload_size:
                current.append(rest)
                break
            lengths = [len(e) for e in current]
            fit = max_payload_size - _payload_size(lengths, 0)
            if len(lengths) >= 3:  # the piece needs its own length field: shrink until it fits
                while fit > 0 and _payload_size(lengths, fit) > max_payload_size:
                    fit -= 1
            if fit > 0:
                current.append(rest[:fit])
                rest = rest[fit:]
                packets.append(_write(current, z, True, keyframe and not packets))
                z = True
            else:
                packets.append(_write(current, z, False, keyframe and not packets))
                z = False
            current = []
    packets.append(_write(current, z, False, keyframe and not packets))
    return packets


def _elements(payload: bytes, header: int) -> list[bytes]:
    w = (header >> _W_SHIFT) & 0x03
    out: list[bytes] = []
    pos = 1
    while pos < len(payload):
        if w and len(out) == w - 1:  # the last of W elements has no length field
            out.append(payload[pos:])
            break
        size, pos = _read_leb128(payload, pos, "OBU element")
        if size == 0 or pos + size > len(payload):
            raise Av1PayloadError(f"AV1 OBU element of {size} bytes at {pos} does not fit")
        out.append(payload[pos : pos + size])
        pos += size
    if not out:
        raise Av1PayloadError("AV1 payload holds no OBU element")
    if w and len(out) != w:
        raise Av1PayloadError(f"AV1 payload holds {len(out)} elements, W says {w}")
    return out


def depacketize_av1(payload: bytes) -> PayloadChunk:
    """Read one AV1 RTP payload. ``data`` of the chunk is the aggregation header (W cleared),
    the LEB128 length of what follows, then every element with its LEB128 length: chunks joined
    in sequence order go to :func:`assemble_av1_frame`. Raises :class:`Av1PayloadError`."""
    if not payload:
        raise Av1PayloadError("empty AV1 payload")
    header = payload[0]
    z, n = bool(header & _Z), bool(header & _N)
    if z and n:  # a coded video sequence cannot start inside an OBU (RTP spec §4.4)
        raise Av1PayloadError("AV1 payload with both N and Z set")
    elements = _elements(payload, header)
    start = False
    if not z:
        first = elements[0]
        if first[0] & 0x80:
            raise Av1PayloadError("AV1 OBU forbidden bit set")
        obu_type = (first[0] >> 3) & 0x0F
        spatial_id = (first[1] >> 3) & 0x03 if first[0] & _EXTENSION_FLAG and len(first) > 1 else 0
        start = obu_type in _FRAME_STARTS and spatial_id == 0
    body = b"".join(_leb128(len(e)) + e for e in elements)
    data = bytes([header & (_Z | _Y | _N)]) + _leb128(len(body)) + body
    return PayloadChunk(start=start, keyframe=start and n, picture_id=None, data=data)


def assemble_av1_frame(data: bytes) -> bytes:
    """The temporal unit (low-overhead bitstream format, AV1 §5.2) from the ``data`` of the
    chunks of one frame joined in order (an :class:`~pywebrtc.rtp.video.AssembledFrame`'s
    ``data``): fragments joined, each OBU given ``obu_has_size_field`` and its ``obu_size``,
    temporal delimiters, tile lists and padding dropped and one temporal delimiter put first.
    Raises :class:`Av1PayloadError` if the fragments do not line up."""
    out = bytearray(_TEMPORAL_DELIMITER)
    pending = bytearray()  # an OBU fragment waiting for its continuation
    continues = False  # the previous chunk ended with Y=1
    pos = 0
    while pos < len(data):
        header = data[pos]
        z, y = bool(header & _Z), bool(header & _Y)
        if z != continues:
            raise Av1PayloadError("AV1 fragment continuation does not match the previous packet")
        size, pos = _read_leb128(data, pos + 1, "chunk")
        end = pos + size
        if end > len(data):
            raise Av1PayloadError("AV1 chunk truncated")
        elements = []
        while pos < end:
            n, pos = _read_leb128(data, pos, "OBU element")
            if pos + n > end:
                raise Av1PayloadError("AV1 OBU element truncated")
            elements.append(data[pos : pos + n])
            pos += n
        for i, element in enumerate(elements):
            if i == 0 and z:
                pending += element
            else:
                if pending:
                    _append_obu(out, bytes(pending))
                pending = bytearray(element)
            if i == len(elements) - 1 and not y:
                _append_obu(out, bytes(pending))
                pending = bytearray()
        continues = y
    if continues:
        raise Av1PayloadError("AV1 frame ends inside a fragmented OBU")
    return bytes(out)


def _append_obu(out: bytearray, obu: bytes) -> None:
    """Append an OBU received without ``obu_size`` (or with one: RTP spec §4.3 lets a sender
    keep it) in low-overhead format."""
    header = obu[0]
    if header & 0x80:
        raise Av1PayloadError("AV1 OBU forbidden bit set")
    head_len = 2 if header & _EXTENSION_FLAG else 1
    if len(obu) < head_len:
        raise Av1PayloadError("AV1 OBU header truncated")
    payload = obu[head_len:]
    if header & _HAS_SIZE_FIELD:
        size, start = _read_leb128(obu, head_len, "OBU")
        if start + size > len(obu):
            raise Av1PayloadError("AV1 OBU size beyond its element")
        payload = obu[start : start + size]
    if (header >> 3) & 0x0F in _DROPPED:
        return
    out.append(header | _HAS_SIZE_FIELD)
    out += obu[1:head_len]
    out += _leb128(len(payload))
    out += payload


def depacketize_av1_frame(payloads: Iterable[bytes]) -> bytes:
    """The temporal unit carried by the RTP payloads of one frame, in sequence order."""
    return assemble_av1_frame(b"".join(depacketize_av1(p).data for p in payloads))


class Av1Format(ChunkFormat):
    """The frame assembler's AV1 part: the chunks of a frame joined, then
    :func:`assemble_av1_frame`; fragments that do not line up make no frame."""

    def __init__(self) -> None:
        super().__init__("av1", depacketize_av1)

    def join(self, parts: Sequence[PayloadChunk]) -> JoinedFrame | None:
        joined = super().join(parts)
        if joined is None:
            return None
        try:
            return JoinedFrame(assemble_av1_frame(joined.data), joined.keyframe)
        except Av1PayloadError:
            return None


AV1 = Av1Format()
