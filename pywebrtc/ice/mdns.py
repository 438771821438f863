"""Resolve the ``.local`` names that browsers put in host candidates (RFC 8828, RFC 6762).

A one-shot query (RFC 6762 §5.1): one A/AAAA question to 224.0.0.251:5353 from an ephemeral
port, which makes responders answer by unicast (§6.7), then wait up to ``timeout`` for the
first answer. Left out: continuous querying, caching, and publishing our own names (we send
IP addresses in our candidates).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import struct

MDNS_GROUP = ("224.0.0.251", 5353)
_TYPE_A, _TYPE_AAAA, _CLASS_IN = 1, 28, 1


def build_query(name: str, query_id: int) -> bytes:
    labels = b"".join(
        bytes([len(part)]) + part for part in (p.encode() for p in name.rstrip(".").split("."))
    )
    header = struct.pack("!HHHHHH", query_id, 0, 2, 0, 0, 0)
    return (
        header
        + labels + b"\x00" + struct.pack("!HH", _TYPE_A, _CLASS_IN)
        + labels + b"\x00" + struct.pack("!HH", _TYPE_AAAA, _CLASS_IN)
    )


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def _read_name(data: bytes, offset: int, depth: int = 0) -> str:
    parts: list[str] = []
    while depth < 20:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            pointer = struct.unpack_from("!H", data, offset)[0] & 0x3FFF
            parts.append(_read_name(data, pointer, depth + 1))
            break
        if length == 0:
            break
        parts.append(data[offset + 1 : offset + 1 + length].decode("utf-8", "replace"))
        offset += 1 + length
    return ".".join(p for p in parts if p)


def parse_answer(data: bytes, name: str) -> str | None:
    """The first A/AAAA address for ``name`` in a DNS response; None if none (never raises)."""
    try:
        _, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data)
        if not flags & 0x8000:
            return None
        offset = 12
        for _ in range(qd):
            offset = _skip_name(data, offset) + 4
        wanted = name.rstrip(".").lower()
        for _ in range(an + ns + ar):
            rname = _read_name(data, offset).lower()
            offset = _skip_name(data, offset)
            rtype, _rclass, _ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            rdata = data[offset : offset + rdlength]
            offset += rdlength
            if rname != wanted:
                continue
            if rtype == _TYPE_A and rdlength == 4:
                return str(ipaddress.IPv4Address(rdata))
            if rtype == _TYPE_AAAA and rdlength == 16:
                return str(ipaddress.IPv6Address(rdata))
    except (struct.error, IndexError, ValueError):
        return None
    return None


class _Query(asyncio.DatagramProtocol):
    def __init__(self, name: str, done: asyncio.Future[str]) -> None:
        self.name = name
        self.done = done

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        found = parse_answer(data, self.name)
        if found is not None and not self.done.done():
            self.done.set_result(found)


async def resolve(name: str, timeout: float = 1.0) -> str | None:
    """The IP address behind an mDNS ``name``, or None if nobody answers in ``timeout``."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Query(name, done), local_addr=("0.0.0.0", 0), family=socket.AF_INET
        )
    except OSError:
        return None
    try:
        query_id = int.from_bytes(os.urandom(2), "big")
        with contextlib.suppress(OSError):
            transport.sendto(build_query(name, query_id), MDNS_GROUP)
        try:
            return await asyncio.wait_for(done, timeout)
        except TimeoutError:
            return None
    finally:
        transport.close()
