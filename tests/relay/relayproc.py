"""Run ``pywebrtc-relay`` (``python -m relay.cli``) as a subprocess for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class RelayProcess:
    def __init__(
        self,
        *args: str,
        workers: int = 1,
        ready_timeout: float = 15.0,
        prefix: tuple[str, ...] = (),
    ) -> None:
        """``prefix`` runs it elsewhere, e.g. ``("ip", "netns", "exec", NAME)``."""
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the relay)
            "w+", prefix="relay-", suffix=".log", delete=False
        )
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "relay.cli", *args, "--log-level", "INFO"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
        self.ready_at = self._wait_ready(workers, ready_timeout)

    def _wait_ready(self, workers: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.output().count("relay worker on") >= workers:
                return time.monotonic()
            if self.process.poll() is not None:
                raise RuntimeError(f"relay exited early:\n{self.output()}")
            time.sleep(0.005)
        self.kill()
        raise RuntimeError(f"relay not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def terminate(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def close(self) -> None:
        self.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
