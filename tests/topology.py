"""A multi-host topology on one machine, for fault tests: every host is a network namespace.

Each host (``ip netns add``, named ``pwtopo<pid>-<host>`` so that concurrent runs do not
collide) gets one veth pair: ``eth0`` inside the host, the other end in a dedicated "switch"
namespace where it is a port of the bridge ``br0``. Every address is a ``10.77.0.0/16`` address
on those ``eth0`` links; nothing is attached to the real host's interfaces and there is no
default route, so no packet can leave the machine. :meth:`Topology.close` (also run when
building fails half way) deletes every namespace, which takes the veths with it; namespaces
left by a run that was killed are swept when the next one starts.

Processes run in a host with ``ip netns exec`` (:meth:`Host.popen`; ``ip`` execs the command,
so the Popen's pid is the process itself and ``kill -9`` reaches it). The calling thread can
enter a host (:meth:`Host.entered`, setns(2)): sockets it opens there stay there, threads it
starts inherit it; the fault tests run their clients and HTTP probes that way.

A client's address changes either by re-addressing its veth (:meth:`Host.readdress`) or, as a
NAT does, by the userspace proxy in ``tests/impair.py`` taking a new source port.

Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2; without them building fails loudly.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

CLONE_NEWNET = 0x40000000  # <sched.h>
NETWORK = "10.77"
PREFIX_LENGTH = 16
T = TypeVar("T")

#: The standard fleet: name -> last two address octets.
FLEET = {
    "client1": "1.1",
    "client2": "1.2",
    "nat": "1.100",
    "relay1": "0.11",
    "relay2": "0.12",
    "trx1": "0.21",
    "trx2": "0.22",
    "trx3": "0.23",
    "redis": "0.30",
}


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {result.stderr.strip()} (the topology needs root)")


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)


@dataclass
class Host:
    """One namespace with one address on the shared bridge."""

    name: str
    netns: str
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside this host; the topology kills it at close if it still runs."""
        process = subprocess.Popen(["ip", "netns", "exec", self.netns, *argv], **kwargs)
        self.processes.append(process)
        return process

    @property
    def prefix(self) -> tuple[str, ...]:
        """The argv prefix that runs a command in this host."""
        return ("ip", "netns", "exec", self.netns)

    @contextlib.contextmanager
    def entered(self) -> Iterator[str]:
        """Run the block's thread in this host; yields its address."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(f"/run/netns/{self.netns}")
            try:
                yield self.address
            finally:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(home, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns(back)")
        finally:
            os.close(home)

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on a fresh thread inside this host (the caller's thread stays put)."""
        box: list[Any] = []

        def run() -> None:
            try:
                with self.entered():
                    box.append((True, fn()))
            except BaseException as error:  # re-raised in the caller
                box.append((False, error))

        thread = threading.Thread(target=run, name=f"in-{self.name}")
        thread.start()
        thread.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def readdress(self, address: str) -> None:
        """Move the host to ``address`` (old one removed): what a roaming client looks like."""
        _ip("-n", self.netns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", "eth0")
        _ip("-n", self.netns, "addr", "del", f"{self.address}/{PREFIX_LENGTH}", "dev", "eth0")
        self.address = address

    def add_address(self, address: str) -> None:
        _ip("-n", self.netns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", "eth0")


def sweep_stale() -> None:
    """Delete the namespaces of earlier runs that died without closing (kill -9 of pytest)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.strip() else ""
        match = re.fullmatch(r"pwtopo(\d+)-[\w-]+", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Topology:
    """The switch namespace plus one :class:`Host` per ``name: "a.b"`` (address 10.77.a.b)."""

    def __init__(self, hosts: dict[str, str] | None = None) -> None:
        sweep_stale()
        self.tag = f"pwtopo{os.getpid()}"
        self.switch = f"{self.tag}-switch"
        self.hosts: dict[str, Host] = {}
        self._made: list[str] = []
        try:
            self._add_netns(self.switch)
            _ip("-n", self.switch, "link", "set", "lo", "up")
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for index, (name, octets) in enumerate((hosts or FLEET).items()):
                self._add_host(index, name, f"{NETWORK}.{octets}")
        except BaseException:
            self.close()
            raise

    def _add_netns(self, netns: str) -> None:
        _ip("netns", "add", netns)
        self._made.append(netns)

    def _add_host(self, index: int, name: str, address: str) -> None:
        netns = f"{self.tag}-{name}"
        self._add_netns(netns)
        port = f"p{index}"
        _ip("-n", self.switch, "link", "add", port, "type", "veth",
            "peer", "name", "eth0", "netns", netns)  # fmt: skip
        _ip("-n", self.switch, "link", "set", port, "master", "br0")
        _ip("-n", self.switch, "link", "set", port, "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        _ip("-n", netns, "link", "set", "eth0", "up")
        _ip("-n", netns, "addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", "eth0")
        self.hosts[name] = Host(name, netns, address)

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def close(self) -> None:
        """Kill what the hosts still run, delete every namespace (and so every veth)."""
        for host in self.hosts.values():
            for process in host.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        for netns in reversed(self._made):
            subprocess.run(["ip", "netns", "del", netns], capture_output=True)
        self._made.clear()

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
