"""Start and stop a throwaway coturn ``turnserver`` on loopback for the conformance tests.

The server gets free ports, long-term credentials for one user, a private SQLite file and log in a
temporary directory, and is killed on exit. A missing ``turnserver`` binary is an error, never a
skip: CI installs coturn (Debian package ``coturn``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REALM = "pywebrtc.test"
USERNAME = "alice"
PASSWORD = "s3cret-pw"


@dataclass(frozen=True, slots=True)
class Coturn:
    """A running coturn: where to reach it, how to log in, and where its log is."""

    address: tuple[str, int]
    username: str
    password: str
    realm: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for coturn")


def _binding_request_answered(address: tuple[str, int]) -> bool:
    """Whether a bare STUN Binding Request (RFC 8489 §5) to ``address`` gets any answer."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(request, address)
            answer = sock.recv(2048)
        except OSError:
            return False
    return answer[8:20] == request[8:20]


@contextlib.contextmanager
def running_coturn(*extra_args: str, startup_timeout: float = 10.0) -> Iterator[Coturn]:
    """Run ``turnserver`` on 127.0.0.1 until the block exits; ``extra_args`` are appended."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError(
            "coturn's `turnserver` is not installed (apt-get install -y coturn); "
            "the TURN conformance tests need it"
        )
    with tempfile.TemporaryDirectory(prefix="coturn-") as tmp:
        workdir = Path(tmp)
        port = _free_port()
        relay_base = 40000 + (port % 200) * 100
        log_path = workdir / "turnserver.log"
        args = [
            binary,
            "-n",  # no configuration file: only the flags below
            "--listening-ip", "127.0.0.1",
            "--relay-ip", "127.0.0.1",
            "--listening-port", str(port),
            "--min-port", str(relay_base),
            "--max-port", str(relay_base + 99),
            "--lt-cred-mech",
            "--user", f"{USERNAME}:{PASSWORD}",
            "--realm", REALM,
            "--allow-loopback-peers",
            "--no-cli", "--no-tls", "--no-dtls", "--no-rfc5780",
            "--userdb", str(workdir / "turndb"),
            "--pidfile", str(workdir / "turnserver.pid"),
            "--log-file", "stdout", "--simple-log", "--verbose",
            *extra_args,
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        server = Coturn(("127.0.0.1", port), USERNAME, PASSWORD, REALM, log_path)
        try:
            deadline = time.monotonic() + startup_timeout
            while not _binding_request_answered(server.address):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"turnserver exited with {process.returncode}:\n{server.log()}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"turnserver did not answer within {startup_timeout}s:\n{server.log()}"
                    )
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
