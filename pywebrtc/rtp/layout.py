"""An RTP header with a fixed set of RFC 8285 one-byte extension elements, written by one
``struct`` call per packet.

A sending stream's extension ids, value lengths and element order do not change from packet to
packet (only the values of the audio level, abs-send-time and the transport-wide sequence
number do), so :func:`one_byte_layout` works out once where everything goes and compiles a
``pack`` function for it: what :func:`~pywebrtc.rtp.extensions.serialize_header_extensions`
and ``bytes(RtpPacket)`` produce for the same elements, byte for byte (the tests check it),
without building the elements, the block or a packet object.

Only the one-byte form (RFC 8285 §4.2: ids 1-14, values 1-16 bytes) is laid out; for anything
else :func:`one_byte_layout` returns None and the caller serializes the general way.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .extensions import ONE_BYTE_PROFILE

__all__ = ["HeaderLayout", "LayoutElement", "one_byte_layout"]

# (b1, sequence, timestamp, ssrc, audio level byte, abs-send-time, transport-wide number)
PackHeader = Callable[[int, int, int, int, int, int, int], bytes]


@dataclass(frozen=True, slots=True)
class LayoutElement:
    """One element: ``kind`` "constant" (``value`` written as it is, e.g. the sdes:mid),
    "audio-level" (1 byte), "abs-send-time" (3 bytes) or "transport-cc" (2 bytes)."""

    ext_id: int
    kind: str
    value: bytes = b""


_LENGTHS = {"audio-level": 1, "abs-send-time": 3, "transport-cc": 2}


@dataclass(frozen=True, slots=True)
class HeaderLayout:
    """``pack(b1, seq, timestamp, ssrc, level, abs_send_time, transport_seq)``: the header,
    extension block included (the arguments of elements it lacks are ignored);
    ``transport_cc``/``abs_send_time``/``audio_level``: whether it has one."""

    pack: PackHeader
    size: int
    audio_level: bool
    abs_send_time: bool
    transport_cc: bool


def one_byte_layout(elements: Sequence[LayoutElement]) -> HeaderLayout | None:
    """The layout writing ``elements`` in this order in a one-byte block (no elements: the bare
    12-byte header, X bit clear); None when one-byte elements cannot carry them."""
    return _layout(tuple(elements))


@functools.lru_cache(maxsize=256)
def _layout(elements: tuple[LayoutElement, ...]) -> HeaderLayout | None:
    # Cached: compiling one costs ~0.2 ms, and a server's streams share a few layouts.
    fmt = ["!BBHII"]
    args = ["b0", "b1", "seq", "timestamp", "ssrc"]
    namespace: dict[str, object] = {}
    length = 0
    for n, element in enumerate(elements):
        size = len(element.value) if element.kind == "constant" else _LENGTHS.get(element.kind)
        if size is None:
            raise ValueError(f"unknown layout element kind {element.kind!r}")
        if not 1 <= element.ext_id <= 14 or not 1 <= size <= 16:
            return None
        first = element.ext_id << 4 | (size - 1)
        if element.kind == "constant":
            namespace[f"_c{n}"] = bytes((first,)) + element.value
            fmt.append(f"{1 + size}s")
            args.append(f"_c{n}")
        elif element.kind == "audio-level":
            fmt.append("BB")
            args += [str(first), "level"]
        elif element.kind == "abs-send-time":
            fmt.append("I")  # the id byte and the 24-bit value in one word
            args.append(f"{first << 24} | abs_send_time")
        else:
            fmt.append("BH")
            args += [str(first), "transport_seq"]
        length += 1 + size
    padding = -length % 4
    if elements:
        fmt.insert(1, "HH")
        args[5:5] = [str(ONE_BYTE_PROFILE), str((length + padding) // 4)]
        if padding:
            fmt.append(f"{padding}x")
    header = struct.Struct("".join(fmt))
    namespace["_pack"] = header.pack
    b0 = 0x90 if elements else 0x80
    source = (
        "def pack(b1, seq, timestamp, ssrc, level, abs_send_time, transport_seq):\n"
        f"    b0 = {b0}\n"
        f"    return _pack({', '.join(args)})\n"
    )
    exec(source, namespace)
    kinds = {e.kind for e in elements}
    return HeaderLayout(
        namespace["pack"],  # type: ignore[arg-type]
        header.size,
        "audio-level" in kinds,
        "abs-send-time" in kinds,
        "transport-cc" in kinds,
    )
