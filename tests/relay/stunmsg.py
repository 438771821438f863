"""Minimal STUN Binding Requests for relay tests (RFC 8489 §5, §14.3 USERNAME).

The relay only reads USERNAME, so these carry no MESSAGE-INTEGRITY; the end-to-end tests use
real ICE agents for that.
"""

from __future__ import annotations

import os
import struct

MAGIC_COOKIE = 0x2112A442
USERNAME = 0x0006


def binding_request(username: str, transaction_id: bytes | None = None) -> bytes:
    value = username.encode()
    padded = value + bytes(-len(value) % 4)
    attrs = struct.pack("!HH", USERNAME, len(value)) + padded
    tid = transaction_id if transaction_id is not None else os.urandom(12)
    return struct.pack("!HHI", 0x0001, len(attrs), MAGIC_COOKIE) + tid + attrs


def binding_success(transaction_id: bytes = bytes(12)) -> bytes:
    return struct.pack("!HHI", 0x0101, 0, MAGIC_COOKIE) + transaction_id


def read_username_stub(datagram: bytes) -> str | None:
    """Stand-in for pywebrtc.stun.read_username while that module is being written."""
    if len(datagram) < 20 or datagram[:2] != b"\x00\x01":
        return None
    (length,) = struct.unpack_from("!H", datagram, 2)
    if struct.unpack_from("!I", datagram, 4)[0] != MAGIC_COOKIE or 20 + length > len(datagram):
        return None
    offset, end = 20, 20 + length
    while offset + 4 <= end:
        kind, size = struct.unpack_from("!HH", datagram, offset)
        if offset + 4 + size > end:
            return None
        if kind == USERNAME:
            try:
                return datagram[offset + 4 : offset + 4 + size].decode()
            except UnicodeDecodeError:
                return None
        offset += 4 + size + (-size % 4)
    return None
