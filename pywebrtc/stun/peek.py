"""Read a datagram's fields without building a :class:`Message`.

The relay calls :func:`read_username` on the first packet of every new flow to route it by the
ICE ufrag, so it walks the attribute headers by offset with ``struct.unpack_from`` and stops
at USERNAME. It checks the header (RFC 8489 §5: top bits, magic cookie, length matching the
datagram) and the framing of the attributes it walks, not what follows USERNAME; the
transceiver parses the whole message anyway.

An ICE agent answering consent checks (RFC 7675 §5.1) calls :func:`read_check` on each: the
few fields it acts on, and where MESSAGE-INTEGRITY is, for the layout every ICE agent sends.
"""

from __future__ import annotations

import struct

from .attributes import KNOWN_ATTRIBUTE_TYPES
from .constants import MAGIC_COOKIE

_unpack_header = struct.Struct("!HHI").unpack_from
_unpack_hh = struct.Struct("!HH").unpack_from
# The header and the first attribute header in one call: USERNAME usually comes first.
_unpack_first = struct.Struct("!HHI12xHH").unpack_from

_BINDING_REQUEST = 0x0001  # RFC 8489 §5: method Binding, class request
_USERNAME = 0x0006
# A USERNAME after these is not covered by the integrity check and Message.parse ignores it.
_STOP = frozenset((0x0008, 0x001C, 0x8028))
_USE_CANDIDATE = 0x0025
# Attributes whose length Message.parse checks (RFC 8445 §7.1): PRIORITY, USE-CANDIDATE,
# ICE-CONTROLLED, ICE-CONTROLLING.
_FIXED_LENGTH = {0x0024: 4, 0x0025: 0, 0x8029: 8, 0x802A: 8}
_TRAILER = 32  # MESSAGE-INTEGRITY (4 + 20) and FINGERPRINT (4 + 4), last (RFC 8445 §7.2.2)
_MI_HEADER = b"\x00\x08\x00\x14"
_FP_HEADER = b"\x80\x28\x00\x04"


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


def read_check(datagram: bytes) -> tuple[bytes, bool] | None:
    """USERNAME (raw) and whether USE-CANDIDATE is present, for a Binding request that ends
    with MESSAGE-INTEGRITY then FINGERPRINT (at ``len(datagram) - 32`` and ``- 8``) and has
    nothing before them that :meth:`Message.parse` and an ICE agent would treat otherwise:
    no other integrity attribute, no comprehension-required attribute a 420 would name, the
    ICE attributes at their lengths. None for everything else (which takes the general path:
    :meth:`Message.parse`); the integrity and fingerprint are not checked here. Never raises.
    """
    try:
        size = len(datagram)
        integrity = size - _TRAILER
        if integrity < 24:
            return None
        mtype, length, cookie, attr_type, attr_length = _unpack_first(datagram)
        if (
            mtype != _BINDING_REQUEST
            or cookie != MAGIC_COOKIE
            or length + 20 != size
            or length & 3
            or datagram[integrity : integrity + 4] != _MI_HEADER
            or datagram[size - 8 : size - 4] != _FP_HEADER
        ):
            return None
        username: bytes | None = None
        use_candidate = False
        offset = 20
        while True:
            end = offset + 4 + attr_length
            if end > integrity:
                return None
            if attr_type == _USERNAME:
                if username is None:
                    username = bytes(datagram[offset + 4 : end])
            elif (attr_type < 0x8000 and attr_type not in KNOWN_ATTRIBUTE_TYPES) or (
                attr_type in _STOP
            ):
                return None  # a 420 to send, or another integrity attribute: Message.parse
            else:
                fixed = _FIXED_LENGTH.get(attr_type)
                if fixed is not None:
                    if fixed != attr_length:
                        return None
                    if attr_type == _USE_CANDIDATE:
                        use_candidate = True
            offset = end + (-attr_length & 3)
            if offset >= integrity:
                break
            attr_type, attr_length = _unpack_hh(datagram, offset)
        if offset != integrity or username is None:
            return None
        return username, use_candidate
    except Exception:
        return None  # the same contract as read_username: a hostile packet never raises


def is_stun(datagram: bytes) -> bool:
    """Cheap test for a STUN header with magic cookie whose length fits the datagram."""
    if len(datagram) < 20:
        return False
    mtype, length, cookie = _unpack_header(datagram)
    return not mtype & 0xC000 and cookie == MAGIC_COOKIE and length + 20 == len(datagram)
