"""Batched UDP I/O through ``recvmmsg(2)``/``sendmmsg(2)``, called with ctypes (Linux only).

One system call moves up to ``size`` datagrams each way. All memory is allocated once: the
``mmsghdr``/``iovec`` arrays and the datagram buffers are ``bytearray``s whose addresses are
handed to the kernel, and Python reads and writes their fields through ``memoryview`` casts
(an index store, no ctypes object per packet).

Each slot's buffer keeps room in front of the received datagram, so a frame header
(pywebrtc.framing, at most 19 bytes) can be written in place and the framed datagram sent
without copying the payload; an outgoing message may also point past a received frame header,
to send only the payload.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import socket
import struct
import sys
from collections.abc import Callable

HEADROOM = 32
SLOT = 4096
CAPACITY = SLOT - HEADROOM  # datagrams this long or longer take the slow path
SOCKADDR_SIZE = 28  # sizeof(struct sockaddr_in6), fits sockaddr_in too
NAME_STRIDE = 32  # 8-byte aligned, so an IPv4 sockaddr's first 8 bytes read as one u64
MSG_DONTWAIT = 0x40
MSG_WAITFORONE = 0x10000  # block for the first datagram only
MSG_TRUNC = 0x20
_BUGS = (errno.EBADF, errno.EFAULT, errno.EINVAL, errno.ENOTSOCK)  # not the network's doing
_FULL = (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS)

# struct mmsghdr on LP64 Linux: msghdr (56 bytes) + msg_len (4) + padding (4).
_MMSGHDR = 64
_IOVEC = 16
# Field offsets in 4-byte (u32) and 8-byte (u64) units within one mmsghdr.
_U32_NAMELEN = 2
_U32_FLAGS = 12
_U32_LEN = 14
_U64_NAME = 0
_U64_IOV = 2
_U64_IOVLEN = 3

_libc: ctypes.CDLL | None = None


def available() -> bool:
    """Whether this platform has batched I/O: 64-bit Linux (the ``mmsghdr`` layout above).

    Only the platform is asked. On 64-bit Linux a libc without ``recvmmsg``/``sendmmsg`` is a
    broken install, and the first :class:`Batch` raises instead of the relay (and its tests)
    quietly falling back.
    """
    return sys.platform.startswith("linux") and struct.calcsize("P") == 8


def _load() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        # No argtypes: converting declared arguments costs more than the system call saves.
        # Callers pass pointers as prebuilt c_void_p objects and the rest as small ints.
        for name in ("recvmmsg", "sendmmsg"):
            getattr(libc, name).restype = ctypes.c_int
        _libc = libc
    return _libc


def _address(buffer: bytearray) -> int:
    return ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))


class Batch:
    """Receive buffers for one socket plus an outgoing batch that points into them.

    Datagram ``i`` is received at ``data[i*SLOT + offset]``. Outgoing message ``j`` has one
    iovec (``siov64[2j]`` base, ``siov64[2j+1]`` length) and a destination whose ``namelen``
    is fixed per batch (one socket, one address family).
    """

    def __init__(self, size: int = 32, namelen: int = 16, offset: int = HEADROOM) -> None:
        libc = _load()
        self._recvmmsg = libc.recvmmsg
        self._sendmmsg = libc.sendmmsg
        self.size = size
        self.data = bytearray(size * SLOT)
        self.names = bytearray(size * NAME_STRIDE)
        self._rmsgs = bytearray(size * _MMSGHDR)
        self._smsgs = bytearray(size * _MMSGHDR)
        self._riov = bytearray(size * _IOVEC)
        self._siov = bytearray(size * _IOVEC)
        self.data_addr = _address(self.data)
        self.offsets = [i * SLOT + offset for i in range(size)]
        self.bases = [self.data_addr + off for off in self.offsets]
        self._rmsgs_addr = _address(self._rmsgs)
        self._smsgs_addr = _address(self._smsgs)
        names_addr = _address(self.names)
        riov_addr = _address(self._riov)
        siov_addr = _address(self._siov)

        self.view = memoryview(self.data)
        self.names_view = memoryview(self.names)
        self.names64 = self.names_view.cast("Q")
        self.data64 = self.view.cast("Q")
        self.recv32 = memoryview(self._rmsgs).cast("I")
        r64 = memoryview(self._rmsgs).cast("Q")
        self.send32 = memoryview(self._smsgs).cast("I")
        self.send64 = memoryview(self._smsgs).cast("Q")
        self.siov64 = memoryview(self._siov).cast("Q")
        riov64 = memoryview(self._riov).cast("Q")
        for i in range(size):
            r64[i * 8 + _U64_NAME] = names_addr + i * NAME_STRIDE
            self.recv32[i * 16 + _U32_NAMELEN] = SOCKADDR_SIZE
            r64[i * 8 + _U64_IOV] = riov_addr + i * _IOVEC
            r64[i * 8 + _U64_IOVLEN] = 1
            riov64[i * 2] = self.data_addr + i * SLOT + offset
            riov64[i * 2 + 1] = SLOT - offset
            self.send64[i * 8 + _U64_IOV] = siov_addr + i * _IOVEC
            self.send64[i * 8 + _U64_IOVLEN] = 1
            self.send32[i * 16 + _U32_NAMELEN] = namelen
        self._template = bytes(self._rmsgs)
        self._rmsgs_ptr = ctypes.c_void_p(self._rmsgs_addr)
        self._smsgs_ptr = ctypes.c_void_p(self._smsgs_addr)
        # For hot loops: ``sendmmsg(fd, smsgs, count, MSG_DONTWAIT)`` sends prepared messages
        # 0..count-1 in one call with no Python frame in between (see :meth:`finish_send`).
        self.sendmmsg: Callable[[int, ctypes.c_void_p, int, int], int] = libc.sendmmsg
        self.smsgs = self._smsgs_ptr
        del r64, riov64

    def recv(self, fd: int, wait: bool = False) -> int:
        """Receive up to ``size`` datagrams; 0 when none is waiting. With ``wait`` (a blocking
        socket), block until the first one arrives, or until the socket is shut down (0).

        Datagram ``i`` is ``data[i*SLOT+HEADROOM : … + length(i)]`` from ``name(i)``.
        """
        self._rmsgs[:] = self._template  # the kernel overwrote namelen/len/flags
        flags = MSG_WAITFORONE if wait else MSG_DONTWAIT
        n: int = self._recvmmsg(fd, self._rmsgs_ptr, self.size, flags, None)
        return n if n >= 0 else self.recv_failed()

    def receiver(self, fd: int, wait: bool = False) -> Callable[[], int]:
        """``recv(fd)`` for hot loops: one ctypes call, no Python frame, no header reset.

        Returns recvmmsg's result: -1 means call :meth:`recv_failed`. Skipping the reset is
        safe because the kernel rewrites only ``msg_len``, ``msg_flags`` and ``msg_namelen``,
        and the last is the size of the sender's address: the same for every datagram on one
        socket, so it stays large enough. Sockets of different families sharing a batch must
        not read :meth:`key`/:meth:`name` after a receiver's batch (use :meth:`recv`).
        ``wait`` as for :meth:`recv`.
        """
        flags = MSG_WAITFORONE if wait else MSG_DONTWAIT
        return functools.partial(self._recvmmsg, fd, self._rmsgs_ptr, self.size, flags, None)

    def recv_failed(self) -> int:
        """After recvmmsg returned -1: raise for a bug, else 0 (nothing to read now)."""
        err = ctypes.get_errno()
        if err in _BUGS:
            raise OSError(err, os.strerror(err))
        # EAGAIN, EINTR, or an ICMP error (ECONNREFUSED…) reported once on a connected
        # socket whose peer went away: nothing to read now.
        return 0

    def length(self, i: int) -> int:
        """Length of received datagram ``i``, or -1 if it was truncated (too big)."""
        if self.recv32[i * 16 + _U32_FLAGS] & MSG_TRUNC:
            return -1
        return self.recv32[i * 16 + _U32_LEN]

    def name(self, i: int) -> bytes:
        """The raw ``struct sockaddr`` datagram ``i`` came from."""
        start = i * NAME_STRIDE
        return bytes(self.names_view[start : start + self.recv32[i * 16 + _U32_NAMELEN]])

    def key(self, i: int) -> int | bytes:
        """A hashable name for the sender of datagram ``i`` (see :func:`key_of`)."""
        first = self.names64[i * 4]
        if first & 0xFFFF == socket.AF_INET:
            return first
        return self.name(i)

    def send(self, fd: int, count: int, start: int = 0) -> int:
        """Send prepared messages ``start .. start+count-1``; returns how many the kernel took."""
        sent = start
        count += start
        while sent < count:
            messages = (
                self._smsgs_ptr if not sent else ctypes.c_void_p(self._smsgs_addr + sent * _MMSGHDR)
            )
            n: int = self._sendmmsg(fd, messages, count - sent, MSG_DONTWAIT)
            if n < 0:
                err = ctypes.get_errno()
                if err == errno.EINTR:
                    continue
                if err in _FULL:
                    break
                # A per-destination error (e.g. ECONNREFUSED from an ICMP) hits the first
                # message: skip it rather than stall the batch.
                sent += 1
                continue
            sent += n
        return sent - start

    def finish_send(self, fd: int, count: int, result: int) -> int:
        """After ``sendmmsg(fd, smsgs, count, MSG_DONTWAIT)`` returned ``result`` !=
        ``count``: go on as :meth:`send` does; how many of the ``count`` messages count as
        sent."""
        if result < 0:
            err = ctypes.get_errno()
            if err in _FULL:
                return 0
            result = 0 if err == errno.EINTR else 1  # send() skips a per-destination error
        if result >= count:
            return count
        return result + self.send(fd, count - result, result)


def sockaddr(address: tuple[str, int], family: int) -> bytes:
    """The raw ``struct sockaddr_in``/``sockaddr_in6`` for ``address`` on a ``family`` socket."""
    host, port = address
    if family == socket.AF_INET:
        return (
            struct.pack("=H", socket.AF_INET)
            + struct.pack("!H", port)
            + socket.inet_pton(socket.AF_INET, host)
            + bytes(8)
        )
    try:
        packed = socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        packed = bytes(10) + b"\xff\xff" + socket.inet_pton(socket.AF_INET, host)
    return (
        struct.pack("=H", socket.AF_INET6) + struct.pack("!H", port) + bytes(4) + packed + bytes(4)
    )


_AF_INET_RAW = struct.pack("=H", socket.AF_INET)
_V4_MAPPED = bytes(10) + b"\xff\xff"

Key = int | bytes


def key_of(name: bytes) -> Key:
    """How the batch layer names a peer: an IPv4 sockaddr's first 8 bytes (family, port,
    address) as one native-order integer — read straight off the receive array, no object
    per packet — and any other sockaddr as its raw bytes."""
    if name[:2] == _AF_INET_RAW:
        return int.from_bytes(name[:8], sys.byteorder)
    return name


def key_of_address(address: tuple[str | int, ...], family: int) -> Key:
    """The key of an address as the socket module reports it (``recvfrom`` on a ``family``
    socket): the same key :meth:`Batch.key` gives for that sender."""
    if family == socket.AF_INET:
        host, port = address[:2]
        assert isinstance(host, str) and isinstance(port, int)
        return key_of(sockaddr((host, port), family))
    host, port, flowinfo, scope = address
    assert isinstance(host, str) and isinstance(port, int)
    assert isinstance(flowinfo, int) and isinstance(scope, int)
    packed = socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
    return (
        struct.pack("=H", socket.AF_INET6)
        + struct.pack("!HI", port, flowinfo)
        + packed
        + struct.pack("=I", scope)
    )


def sockaddr_of(key: Key) -> bytes:
    """The raw sockaddr for a key made by :func:`key_of` or :meth:`Batch.key`."""
    if isinstance(key, int):
        return key.to_bytes(8, sys.byteorder) + bytes(8)
    return key


def frame_header(key: Key) -> bytes:
    """The pywebrtc.framing header for a key (IPv4-mapped IPv6 framed as IPv4)."""
    name = sockaddr_of(key)
    if name[:2] == _AF_INET_RAW:
        return b"\xc4" + name[2:8]
    if name[8:20] == _V4_MAPPED:
        return b"\xc4" + name[2:4] + name[20:24]
    return b"\xc6" + name[2:4] + name[8:24]


def sockaddr_host(key: Key) -> bytes:
    """The packed IP address of a key (IPv4-mapped unwrapped to 4 bytes)."""
    name = sockaddr_of(key)
    if name[:2] == _AF_INET_RAW:
        return name[4:8]
    if name[8:20] == _V4_MAPPED:
        return name[20:24]
    return name[8:24]
