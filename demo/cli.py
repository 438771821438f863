"""``pywebrtc-demo``: the voice agent in a browser, on this machine, the real architecture.

One command starts, in one process group, a ``pywebrtc-signaling --app agent`` transceiver that
also serves the page, and a ``pywebrtc-relay`` in front of it (``--no-relay``: the transceiver
is reached directly). Fleet keys are made fresh in a temporary directory. It prints the page's
URL, and Ctrl-C or SIGTERM stops everything. Open the page on this machine (``127.0.0.1`` is a
secure context, which the microphone needs).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from relay.cli import parse_address

WEB = Path(__file__).resolve().parent / "web"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pywebrtc-demo",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    address = parse_address
    p.add_argument(
        "--http",
        type=address,
        default=address("127.0.0.1:8080"),
        help="HTTP address of the page and the signaling API",
    )
    p.add_argument(
        "--udp",
        type=address,
        default=address("127.0.0.1:3479"),
        help="the transceiver's UDP media socket",
    )
    p.add_argument(
        "--relay-listen",
        type=address,
        default=address("127.0.0.1:3478"),
        help="the relay's public UDP address (the browser's candidate)",
    )
    p.add_argument(
        "--no-relay", action="store_true", help="no relay: the browser reaches --udp directly"
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help="Redis for the relay's route cache and the transceiver registry (default: in memory)",
    )
    p.add_argument(
        "--app", default="agent", help="the transceiver's app: agent, echo or MODULE:CALLABLE"
    )
    p.add_argument("--log-level", default="WARNING", help="log level of both services")
    return p


def machine_address() -> str:
    """The IPv4 address this machine's default route leaves from, else 127.0.0.1.

    The browser's candidate must not be a loopback address: Firefox pairs only its
    non-loopback host candidates, and skips a loopback remote one. Nothing is sent: a UDP
    ``connect`` only asks the routing table."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: any routable address will do
            address: str = probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
    return address


def commands(args: argparse.Namespace, keys: Path) -> list[list[str]]:
    """The relay's (unless --no-relay) and the transceiver's command lines."""
    here = machine_address() if args.udp is None or args.relay_listen is None else ""
    if args.relay_listen is None:
        args.relay_listen = (here, 3478)
    if args.udp is None:
        args.udp = (here, 3479) if args.no_relay else ("127.0.0.1", 3479)
    http, udp, listen = (f"{h}:{p}" for h, p in (args.http, args.udp, args.relay_listen))
    python = sys.executable
    redis = ["--redis", args.redis] if args.redis else []
    signaling = [
        python, "-m", "signaling", "--http", http, "--udp", udp, "--app", args.app,
        "--web", str(WEB), "--drain-timeout", "2", "--log-level", args.log_level, *redis,
    ]  # fmt: skip
    if args.no_relay:
        return [signaling]
    signaling += ["--relay", listen, "--keys", str(keys), "--id", "1"]
    relay = [
        python, "-m", "relay", "--listen", listen, "--keys", str(keys),
        "--transceiver", f"1={udp}", "--log-level", args.log_level, *redis,
    ]  # fmt: skip
    return [relay, signaling]


def _wait_ready(url: str, children: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                raise SystemExit(f"pywebrtc-demo: a service exited ({child.returncode})")
        try:
            with urllib.request.urlopen(url + "readyz", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise SystemExit(f"pywebrtc-demo: the service at {url} did not become ready")


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    stopping = False

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with tempfile.TemporaryDirectory(prefix="pywebrtc-demo-") as tmp:
        keys = Path(tmp) / "keys"
        keys.write_text(f"0 {secrets.token_hex(16)}\n")
        keys.chmod(0o600)
        env = dict(os.environ, PYTHONPATH=str(WEB.parents[1]))
        children = [subprocess.Popen(command, env=env) for command in commands(args, keys)]
        url = f"http://{args.http[0]}:{args.http[1]}/"
        try:
            _wait_ready(url, children, timeout=60)
            print(f"pywebrtc-demo: open {url} and press Talk (Ctrl-C stops)", flush=True)
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    failed = [child for child in children if child.returncode not in (0, -signal.SIGTERM)]
    sys.exit(1 if failed and not stopping else 0)


if __name__ == "__main__":
    main()
