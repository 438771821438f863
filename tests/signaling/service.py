"""Run ``pywebrtc-signaling`` as users do, a subprocess on free loopback ports, for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "pywebrtc-signaling"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SignalingProcess:
    """``pywebrtc-signaling --http 127.0.0.1:<free> --udp 127.0.0.1:<free> *args``."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 20,
        bind: str = "127.0.0.1",
        prefix: tuple[str, ...] = (),
    ) -> None:
        """``bind``/``prefix``: run in a network namespace, e.g. ``("ip", "netns", "exec", NAME)``
        (the caller's thread must then reach ``bind``, see ``tests/topology.py``)."""
        self.args = args
        self.http_port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.url = f"http://{bind}:{self.http_port}"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the process)
            "w+", prefix="signaling-", suffix=".log", delete=False
        )
        command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "signaling.cli"]
        self.process = subprocess.Popen(
            [
                *prefix,
                *command,
                "--http",
                f"{bind}:{self.http_port}",
                "--udp",
                f"{bind}:{self.udp_port}",
                *args,
            ],  # fmt: skip
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})),
            cwd=REPO,
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pywebrtc-signaling exited early:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/livez", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"pywebrtc-signaling not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def metric(self, name: str, labels: str = "", default: float | None = None) -> float:
        """One sample of ``GET /metrics`` (``labels`` as printed, e.g. 'state="connected"');
        ``default`` if there is no such sample (a labelled counter never incremented)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in text.splitlines():
            key, _, value = line.rpartition(" ")
            if key == wanted:
                return float(value)
        if default is not None:
            return default
        raise KeyError(wanted)

    def terminate(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        self.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


class Response:
    def __init__(
        self, status: int, headers: dict[str, str], body: bytes, raw: list[tuple[str, str]]
    ) -> None:
        self.status_code = status
        self.headers = headers
        self.raw_headers = raw
        self.content = body
        self.text = body.decode("utf-8", "replace")

    def header_values(self, name: str) -> list[str]:
        """Every value of a repeated header (``Link``), in order."""
        return [v for k, v in self.raw_headers if k.lower() == name.lower()]

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> object:
        import json

        return json.loads(self.text)


class _CaseInsensitive(dict[str, str]):
    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


def request(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    data: bytes | str = b"",
    timeout: float = 10,
) -> Response:
    """One HTTP request with http.client (no redirects, no retries, any status returned)."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    body = data.encode() if isinstance(data, str) else data
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        raw = response.getheaders()
        received = _CaseInsensitive({k.lower(): v for k, v in raw})
        return Response(response.status, received, content, raw)
    finally:
        connection.close()
