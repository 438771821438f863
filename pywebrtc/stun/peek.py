"""Read one field off a datagram without building a :class:`Message`.

The relay calls :func:`read_username` on the first packet of every new flow to route it by the
ICE ufrag, so it walks the attribute headers by offset with ``struct.unpack_from`` and stops
at USERNAME. It checks the header (RFC 8489 §5: top bits, magic cookie, length matching the
datagram) and the framing of the attributes it walks, not what follows USERNAME; the
transceiver parses the whole message anyway.
"""

from __future__ import annotations

import struct

from .constants import MAGIC_COOKIE

_unpack_header = struct.Struct("!HHI").unpack_from
_unpack_hh = struct.Struct("!HH").unpack_from
# The header and the first attribute header in one call: USERNAME usually comes first.
_unpack_first = struct.Struct("!HHI12xHH").unpack_from

_BINDING_REQUEST = 0x0001  # RFC 8489 §5: method Binding, class request
_USERNAME = 0x0006
# A USERNAME after these is not covered by the integrity check and Message.parse ignores it.
_STOP = frozenset((0x0008, 0x001C, 0x8028))


def read_username(datagram: bytes) -> str | None:
    """USERNAME of a STUN Binding request, or None for anything else; never raises.

    None for non-STUN data, other methods or classes, a message without USERNAME (or with it
    only after MESSAGE-INTEGRITY), broken framing and a USERNAME that is not UTF-8.
    """
    try:
        size = len(datagram)
        if size < 24:
            return None  # a header and at least one attribute header
        mtype, length, cookie, attr_type, attr_length = _unpack_first(datagram)
        if mtype != _BINDING_REQUEST or cookie != MAGIC_COOKIE or length + 20 != size or length & 3:
            return None
        offset = 20
        while True:
            end = offset + 4 + attr_length
            if end > size:
                return None
            if attr_type == _USERNAME:
                # str(buffer, encoding) takes bytes, bytearray and memoryview alike.
                return str(datagram[offset + 4 : end], "utf-8")
            if attr_type in _STOP:
                return None
            offset = end + (-attr_length & 3)
            if offset >= size:
                return None
            attr_type, attr_length = _unpack_hh(datagram, offset)
    except Exception:
        # The contract is "never raises": a relay must not die on a hostile packet, whatever
        # kind of object or bytes it hands us.
        return None


def is_stun(datagram: bytes) -> bool:
    """Cheap test for a STUN header with magic cookie whose length fits the datagram."""
    if len(datagram) < 20:
        return False
    mtype, length, cookie = _unpack_header(datagram)
    return not mtype & 0xC000 and cookie == MAGIC_COOKIE and length + 20 == len(datagram)
