"""A throw-away network namespace, for tests whose traffic must not reach a real interface.

Multicast is the case: an mDNS query or answer goes to 224.0.0.251 on whichever interface the
routing table picks, eth0 on a CI machine, so a test with a browser hiding its host addresses
behind ``.local`` names would talk to the LAN. Inside :func:`isolated_network` the calling thread
sits in a new network namespace (unshare(2)) holding ``lo`` and a veth pair with both ends inside:
a browser still has a non-loopback address to gather host candidates on, the default route
(multicast included) points at that veth, and its other end leads nowhere. Sockets the thread
opens and processes it starts in the block stay in the namespace; on exit the thread goes back
(setns(2)) and the namespace goes away with the last socket or process in it.

Needs CAP_SYS_ADMIN (CI runs as root) and iproute2's ``ip``; without them the test fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000  # <sched.h>
HOST_ADDRESS = "10.99.0.1"  # the veth's address: the browser's and our host candidates


def _check(result: int, call: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{call}: {os.strerror(errno)} (the test needs root)")


@contextlib.contextmanager
def isolated_network() -> Iterator[str]:
    """Run the block in a new network namespace; yields the one non-loopback IPv4 address."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _check(libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        try:
            for command in (
                "link set lo up",
                "link add veth-in type veth peer name veth-nowhere",
                "link set veth-nowhere up",
                "link set veth-in up",
                f"addr add {HOST_ADDRESS}/24 dev veth-in",
                "route add default dev veth-in",
            ):
                subprocess.run(["ip", *command.split()], check=True)
            yield HOST_ADDRESS
        finally:
            _check(libc.setns(home, CLONE_NEWNET), "setns(back)")
    finally:
        os.close(home)
