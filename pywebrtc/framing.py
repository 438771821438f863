"""Relay ↔ transceiver framing: the client's address in front of an unchanged datagram.

A relay forwards every datagram of a client flow to the transceiver that owns the session, and
the transceiver must know the client's real address (for XOR-MAPPED-ADDRESS, RFC 8489 §14.2,
and to tell flows apart on its one socket). So each datagram between a relay and a transceiver
(or between two chained relays) carries a small header, then the original payload unchanged::

    IPv4 (7 bytes):   0xC4 | port (2) | address (4)  | payload …
    IPv6 (19 bytes):  0xC6 | port (2) | address (16) | payload …

    TCP-borne client, IPv4:  0xD4 | port (2) | address (4)  | payload …
    TCP-borne client, IPv6:  0xD6 | port (2) | address (16) | payload …

Port and address are in network order. 0xD4/0xD6 mark a client that reached the relay over
TCP (ICE-TCP, RFC 6544: its datagrams arrive RFC 4571-framed on one TCP connection); the
address is that connection's remote address, and the payload is one RFC 4571 frame's body
(no length prefix). The transceiver answers with the header it received, so its replies go
back on the same connection. The transceiver answers with the same header (the
client's address) followed by its payload, and the relay sends that payload to the client.
The first byte, 0xC4 or 0xC6, lies in 192–255, a range RFC 7983 §7 leaves unassigned, so a
framed datagram is never mistaken for STUN, DTLS, RTP/RTCP or TURN. An IPv4-mapped IPv6
address (``::ffff:a.b.c.d``) is framed as IPv4.

ICE-TCP (RFC 6544 §3) carries every packet of a TCP candidate pair as an RFC 4571 §2 frame on
the connection: a 16-bit length in network order, then that many bytes. :func:`stream_frame`
writes one; :class:`Deframer` is the sans-IO reading side: feed it whatever ``recv`` returned
and it hands back the whole frames it completed. A frame longer than its ``max_length`` is
skipped (its body is read and thrown away, so the stream stays in sync) and counted;
zero-length frames carry nothing and are skipped too (RFC 4571 §2 allows them, ICE has no use
for them). Bytes left over when the stream ends are a truncated frame (:meth:`Deframer.close`
counts it).

This module imports only the standard library, so that a transceiver can decode frames
without importing the relay.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

IPV4 = 0xC4
IPV6 = 0xC6
TCP_IPV4 = 0xD4  # a client on a TCP connection to the relay (ICE-TCP, RFC 6544)
TCP_IPV6 = 0xD6
KINDS = frozenset((IPV4, IPV6, TCP_IPV4, TCP_IPV6))
_TCP = 0x10  # TCP_IPV4 == IPV4 | 0x10
HEADER_LENGTH_IPV4 = 7
HEADER_LENGTH_IPV6 = 19
MAX_HEADER_LENGTH = HEADER_LENGTH_IPV6

_PORT = struct.Struct("!H")
_V4_MAPPED = bytes(10) + b"\xff\xff"

Address = tuple[str, int]


class FrameError(ValueError):
    """A datagram that is not a well-formed frame."""


def header_length(datagram: bytes | bytearray | memoryview) -> int:
    """Length of the frame header that starts ``datagram``; raises :class:`FrameError`."""
    if datagram:
        kind = datagram[0]
        if kind in (IPV4, TCP_IPV4) and len(datagram) >= HEADER_LENGTH_IPV4:
            return HEADER_LENGTH_IPV4
        if kind in (IPV6, TCP_IPV6) and len(datagram) >= HEADER_LENGTH_IPV6:
            return HEADER_LENGTH_IPV6
    raise FrameError("not a frame (bad first byte or truncated header)")


def encode_address(
    address: tuple[str, int] | tuple[str, int, int, int], tcp: bool = False
) -> bytes:
    """The frame header for a client address as asyncio reports it (2- or 4-tuple);
    ``tcp`` marks a client on a TCP connection to the relay (0xD4/0xD6)."""
    host, port = address[0], address[1]
    if not 0 <= port <= 0xFFFF:
        raise FrameError(f"port {port} out of range")
    mark = _TCP if tcp else 0
    try:
        return bytes((IPV4 | mark,)) + _PORT.pack(port) + socket.inet_pton(socket.AF_INET, host)
    except OSError:
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
    except OSError:
        raise FrameError(f"not an IP address: {host!r}") from None
    if packed.startswith(_V4_MAPPED):
        return bytes((IPV4 | mark,)) + _PORT.pack(port) + packed[12:]
    return bytes((IPV6 | mark,)) + _PORT.pack(port) + packed


def is_tcp(datagram: bytes | bytearray | memoryview) -> bool:
    """Whether the frame at the start of ``datagram`` is for a TCP-borne client."""
    return bool(datagram) and datagram[0] in (TCP_IPV4, TCP_IPV6)


def decode_address(datagram: bytes | bytearray | memoryview) -> Address:
    """The client address ``(host, port)`` in the frame header at the start of ``datagram``."""
    length = header_length(datagram)
    (port,) = _PORT.unpack_from(datagram, 1)
    family = socket.AF_INET if length == HEADER_LENGTH_IPV4 else socket.AF_INET6
    return socket.inet_ntop(family, bytes(datagram[3:length])), port


def frame(address: tuple[str, int] | tuple[str, int, int, int], payload: bytes) -> bytes:
    """``payload`` framed with ``address``."""
    return encode_address(address) + payload


def unframe(datagram: bytes | bytearray | memoryview) -> tuple[Address, bytes]:
    """Split a frame into the client address and the unchanged payload."""
    length = header_length(datagram)
    return decode_address(datagram), bytes(datagram[length:])


def split(datagram: bytes) -> tuple[bytes, bytes]:
    """Split a frame into its raw header (usable as a dict key) and payload, no parsing."""
    length = header_length(datagram)
    return datagram[:length], datagram[length:]


# -- RFC 4571: datagrams over a TCP stream (ICE-TCP) ------------------------------------
MAX_STREAM_FRAME = 0xFFFF  # the 16-bit length field's limit (RFC 4571 §2)
_LENGTH = struct.Struct("!H")


def stream_frame(payload: bytes) -> bytes:
    """``payload`` with its RFC 4571 §2 length prefix."""
    if len(payload) > MAX_STREAM_FRAME:
        raise FrameError(f"{len(payload)} bytes do not fit in an RFC 4571 frame")
    return _LENGTH.pack(len(payload)) + payload


@dataclass(slots=True)
class DeframerCounters:
    frames: int = 0
    dropped_oversized: int = 0
    dropped_empty: int = 0
    dropped_truncated: int = 0  # a frame cut off by the end of the stream


class Deframer:
    """Splits a TCP byte stream into RFC 4571 frames (sans-IO)."""

    __slots__ = ("_buffer", "_skip", "counters", "max_length")

    def __init__(self, max_length: int = MAX_STREAM_FRAME) -> None:
        if not 0 < max_length <= MAX_STREAM_FRAME:
            raise FrameError(f"max_length must be 1..{MAX_STREAM_FRAME}")
        self.max_length = max_length
        self.counters = DeframerCounters()
        self._buffer = bytearray()
        self._skip = 0  # bytes of an oversized frame still to throw away

    @property
    def pending(self) -> int:
        """Bytes held (or still to be skipped) towards an incomplete frame."""
        return len(self._buffer) + self._skip

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """The frames ``data`` completes, in order."""
        if self._skip:
            taken = min(self._skip, len(data))
            self._skip -= taken
            data = memoryview(data)[taken:]
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        offset = 0
        counters = self.counters
        while len(buffer) - offset >= 2:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            if length > self.max_length:
                counters.dropped_oversized += 1
                available = len(buffer) - offset - 2
                if available >= length:
                    offset += 2 + length
                    continue
                self._skip = length - available
                offset = len(buffer)
                break
            if len(buffer) - offset - 2 < length:
                break
            start = offset + 2
            offset = start + length
            if length == 0:
                counters.dropped_empty += 1
                continue
            frames.append(bytes(buffer[start:offset]))
            counters.frames += 1
        del buffer[:offset]
        return frames

    def close(self) -> None:
        """The stream ended: an incomplete frame left over is counted as truncated."""
        if self._buffer or self._skip:
            self.counters.dropped_truncated += 1
        self._buffer.clear()
        self._skip = 0
