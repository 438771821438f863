"""Local host addresses for host candidates (RFC 8445 §5.1.1.1), without extra dependencies.

On Linux: IPv4 addresses of every interface by ``SIOCGIFADDR``, IPv6 from
``/proc/net/if_inet6``. Elsewhere (or if that finds nothing): the address the kernel would use
for the default route, found by connecting an unbound UDP socket (no packet is sent). The answer
is reused for ``ENUMERATION_TTL`` seconds.

Left out, on purpose: IPv6 link-local addresses (they need a scope id the peer cannot use) and,
unless asked, loopback; RFC 8445 §5.1.1.1 also advises against IPv4-mapped and site-local IPv6.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import ipaddress
import socket
import struct
import time

_SIOCGIFADDR = 0x8915  # Linux <linux/sockios.h>


def _linux_ipv4() -> list[str]:
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                req = struct.pack("256s", name.encode()[:15])
                res = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, req)
            except OSError:
                continue
            found.append(socket.inet_ntoa(res[20:24]))
    return found


def _linux_ipv6() -> list[str]:
    found: list[str] = []
    with contextlib.suppress(OSError), open("/proc/net/if_inet6", "rb") as f:
        for line in f.read().splitlines():
            fields = line.split()
            if len(fields) >= 4 and len(fields[0]) == 32:
                # inet_ntop writes the RFC 5952 text that ipaddress would, many times faster.
                found.append(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(fields[0].decode())))
    return found


def _default_route_address(family: socket.AddressFamily) -> list[str]:
    target = "192.0.2.1" if family == socket.AF_INET else "2001:db8::1"
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((target, 9))
            host = s.getsockname()[0]
            return [str(host)]
    except OSError:
        return []


@functools.lru_cache(maxsize=256)  # ipaddress's property checks cost ~0.1 ms per address
def _usable(address: str, include_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.is_unspecified or ip.is_multicast or ip.is_link_local:
        return False
    if ip.is_loopback:
        return include_loopback
    return not (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None)


@functools.lru_cache(maxsize=256)
def _is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


# Asking the kernel for its interfaces costs ~0.2 ms of system calls, on the setup path of every
# peer connection; like a browser's network monitor, reuse the answer for a moment. An interface
# that comes or goes is seen by the peer connections created this long after.
ENUMERATION_TTL = 1.0  # seconds
_clock = time.monotonic
_enumerated: dict[tuple[bool, bool], tuple[float, tuple[str, ...], tuple[str, ...]]] = {}


def _enumerate(use_ipv4: bool, use_ipv6: bool) -> tuple[list[str], list[str]]:
    key = (use_ipv4, use_ipv6)
    now = _clock()
    cached = _enumerated.get(key)
    if cached is not None and now - cached[0] < ENUMERATION_TTL:
        return list(cached[1]), list(cached[2])
    v4 = _linux_ipv4() if use_ipv4 and hasattr(socket, "if_nameindex") else []
    v6 = _linux_ipv6() if use_ipv6 else []
    if use_ipv4 and not [a for a in v4 if not _is_loopback(a)]:
        v4 += _default_route_address(socket.AF_INET)
    if use_ipv6 and not [a for a in v6 if not _is_loopback(a)]:
        v6 += _default_route_address(socket.AF_INET6)
    _enumerated[key] = (now, tuple(v4), tuple(v6))
    return v4, v6


def host_addresses(
    use_ipv4: bool = True, use_ipv6: bool = True, include_loopback: bool = False
) -> list[str]:
    """Local IP addresses to gather host candidates on, IPv6 first (RFC 8421)."""
    v4, v6 = _enumerate(use_ipv4, use_ipv6)
    if include_loopback:
        v4 += ["127.0.0.1"] if use_ipv4 else []
        v6 += ["::1"] if use_ipv6 and socket.has_ipv6 else []
    result: list[str] = []
    for address in v6 + v4:
        if address not in result and _usable(address, include_loopback):
            result.append(address)
    if not result and not include_loopback:
        # A host with no other interface (a bare container) can still talk to itself.
        return host_addresses(use_ipv4, use_ipv6, include_loopback=True)
    return result
