"""A peer that vanishes without a word (SIGKILL: no DTLS close, no more ICE checks) loses its
session once ICE consent runs out (30 s on an ICE-lite agent), and the gauges return to zero."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.signaling.service import REPO, SignalingProcess

STATES = ("new", "connecting", "connected", "disconnected", "failed", "closed")


def test_a_vanished_peer_loses_its_session_when_consent_runs_out() -> None:
    service = SignalingProcess()
    client = subprocess.Popen(
        [sys.executable, "-m", "tests.signaling.vanishing_client", service.url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "connected"
        assert service.metric("pywebrtc_sessions", 'state="connected"') == 1
        client.kill()
        client.wait()
        killed = time.monotonic()
        while time.monotonic() - killed < 45:
            if service.metric("pywebrtc_sessions_ended_total", 'reason="ice-failed"', 0) == 1:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the session outlived its consent")
        assert 25 < time.monotonic() - killed < 45
        assert sum(service.metric("pywebrtc_sessions", f'state="{s}"') for s in STATES) == 0
    finally:
        client.kill()
        client.wait()
        assert service.terminate() == 0, service.output()
        service.close()
