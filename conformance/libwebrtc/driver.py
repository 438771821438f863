"""Drive libwebrtc's RTCPeerConnection (node + npm ``@roamhq/wrtc``, which wraps Google's
libwebrtc) from a test: ``peer.js`` runs in a node child process and takes JSON-line commands
on stdin, answering on stdout. ``scripts/install-node-deps`` (run by ``make test``) installs the
package into ``build/node``; ``PYWEBRTC_WRTC_DIR`` may name another npm folder holding it.
A missing node or package is an error, not a skip: this peer is part of the suite.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PEER_JS = Path(__file__).with_name("peer.js")


class NodeError(Exception):
    """A command failed inside the node peer (its JavaScript error text)."""


def wrtc_module() -> Path:
    """The installed ``@roamhq/wrtc`` package folder, or a clear error saying how to get it."""
    folder = Path(os.environ.get("PYWEBRTC_WRTC_DIR") or REPO / "build" / "node")
    module = folder / "node_modules" / "@roamhq" / "wrtc"
    if not (module / "package.json").exists():
        raise RuntimeError(
            f"@roamhq/wrtc (libwebrtc for node) is not installed in {folder}: "
            "run `bash scripts/install-node-deps` (make test does)"
        )
    return module


class NodePeer:
    """One node process: ``await peer.call("offer", pc_id)``. Use ``async with``."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)

    async def __aenter__(self) -> NodePeer:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed: run `bash scripts/install-node-deps`")
        self._proc = await asyncio.create_subprocess_exec(
            node,
            str(PEER_JS),
            str(wrtc_module()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=16 << 20,  # replies carry base64 audio
        )
        ready = asyncio.get_running_loop().create_future()
        self._pending[0] = ready
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(ready, 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        if proc.returncode is None:
            proc.stdin.write(b'{"id": 0, "op": "quit", "args": []}\n')
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            await self._reader

    async def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        while line := await proc.stdout.readline():
            reply = json.loads(line)
            future = self._pending.pop(reply["id"], None)
            if future is None or future.done():
                continue
            if "error" in reply:
                future.set_exception(NodeError(reply["error"]))
            else:
                future.set_result(reply.get("result"))
        code = await proc.wait()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NodeError(f"node peer exited with status {code}"))
        self._pending.clear()

    async def call(self, op: str, *args: Any, timeout: float = 30.0) -> Any:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        if proc.returncode is not None:
            raise NodeError(f"node peer exited with status {proc.returncode}")
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        line = json.dumps({"id": ident, "op": op, "args": list(args)})
        proc.stdin.write(line.encode() + b"\n")
        return await asyncio.wait_for(future, timeout)
