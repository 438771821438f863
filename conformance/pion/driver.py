"""Pion WebRTC v3 (Debian's golang-github-pion-webrtc.v3-dev, Go 1.19) as a peer.

:func:`build` compiles the Go program in ``conformance/pion/peer`` into ``build/pion`` (again
whenever a source file is newer than the binary), offline: GOPATH mode against the Debian
sources in /usr/share/gocode. :class:`PionPeer` runs it as one peer connection driven by JSON
lines (see ``peer/main.go`` for the commands). Missing Go or Pion is an error, not a skip:
``scripts/install-system-deps`` installs both.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "peer"
BUILD = HERE.parent.parent / "build" / "pion"
BINARY = BUILD / "pion-peer"
DEBIAN_GOPATH = Path("/usr/share/gocode")
PION = DEBIAN_GOPATH / "src" / "github.com" / "pion" / "webrtc"
TIMEOUT = 30.0  # the Go side gives up waiting after 20 s and says so


class PionError(RuntimeError):
    """The Go peer answered a request with an error, or is not there."""


def build() -> Path:
    """The compiled peer, built if missing or older than its sources."""
    return build_go(SOURCE, "pionpeer", BINARY)


def build_go(source: Path, package: str, binary: Path) -> Path:
    """Compile the Go program in ``source`` (as GOPATH package ``package``) into ``binary``,
    offline against Debian's Pion, unless ``binary`` is newer than every source file."""
    sources = sorted(source.glob("*.go")) + [source / "go.mod"]
    newest = max(path.stat().st_mtime for path in sources)
    if binary.exists() and binary.stat().st_mtime >= newest:
        return binary
    go = shutil.which("go")
    if go is None or not PION.is_dir():
        raise PionError(
            "Go and Pion are needed: apt-get install golang-go golang-github-pion-webrtc.v3-dev "
            "(scripts/install-system-deps)"
        )
    # In GOPATH mode Go maps "github.com/pion/webrtc/v3" to Debian's github.com/pion/webrtc
    # (minimal module compatibility) only for a package that sits in a GOPATH itself.
    gopath = BUILD / "gopath"
    link = gopath / "src" / package
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() != source:
        link.unlink()  # a build/ copied from another checkout points at that one's sources
    if not link.is_symlink():
        link.symlink_to(source, target_is_directory=True)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{gopath}:{DEBIAN_GOPATH}",
        "GOCACHE": str(BUILD / "gocache"),
        "GOFLAGS": "",
    }
    partial = binary.with_suffix(f".{os.getpid()}.tmp")
    # Debian's Go 1.19 compiler has been seen to spin for many minutes on a 60-line package that
    # builds in 2 s when run again: each attempt gets a time limit, the whole process group is
    # killed when it passes (the compiler is go's child), and the build is retried.
    for attempt, limit in enumerate((400, 150, 150)):
        process = subprocess.Popen(
            [go, "build", "-o", str(partial), package],
            cwd=BUILD,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            logger.warning("go build of %s passed %d s (attempt %d): retrying", package, limit,
                           attempt + 1)
            continue
        if process.returncode != 0:
            raise PionError(f"go build failed:\n{stderr}")
        break
    else:
        raise PionError(f"go build of {package} did not finish in three attempts")
    partial.replace(binary)  # atomic: a concurrent run never sees half a binary
    return binary


def encode(messages: list[str | bytes]) -> list[dict[str, str]]:
    return [
        {"t": m} if isinstance(m, str) else {"b": base64.b64encode(m).decode()} for m in messages
    ]


def decode(messages: list[dict[str, str]]) -> list[str | bytes]:
    return [m["t"] if "t" in m else base64.b64decode(m["b"]) for m in messages]


class PionPeer:
    """One Pion peer connection in a child process. ``loopback``: gather on 127.0.0.1 only."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, *, loopback: bool = True, lite: bool = False) -> PionPeer:
        args = [str(build())]
        if loopback:
            args.append("-loopback")
        if lite:
            args.append("-lite")
        process = await asyncio.create_subprocess_exec(
            *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=64 << 20
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            answer = json.loads(line)
            future = self._pending.pop(answer["id"])
            if "error" in answer:
                future.set_exception(PionError(answer["error"]))
            else:
                future.set_result(answer["ok"])
        code = await self.process.wait()
        for future in self._pending.values():
            future.set_exception(PionError(f"pion peer exited ({code})"))
        self._pending.clear()

    async def call(self, cmd: str, **args: Any) -> Any:
        """Send one request and wait for its reply (requests may overlap)."""
        assert self.process.stdin is not None
        if self._reader.done():
            raise PionError("pion peer has exited")
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        line = json.dumps({"id": self._next_id, "cmd": cmd, **args}) + "\n"
        self.process.stdin.write(line.encode())
        await self.process.stdin.drain()
        return await asyncio.wait_for(future, TIMEOUT)

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.write(b'{"cmd": "quit"}\n')
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self._reader

    async def __aenter__(self) -> PionPeer:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()
