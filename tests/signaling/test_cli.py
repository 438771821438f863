"""``pywebrtc-signaling``'s flags: --help explains each, PYWEBRTC_SIGNALING_<NAME> mirrors each,
bad combinations exit with a one-line reason."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from signaling.cli import build_parser, config_from_args, fleet_from_args, http_url
from tests.signaling.service import SCRIPT

FLAGS = {
    "--http": "HTTP",
    "--udp": "UDP",
    "--relay": "RELAYS",
    "--relay-tcp": "RELAY_TCP",
    "--public": "PUBLIC",
    "--keys": "KEYS",
    "--cluster": "CLUSTER",
    "--id": "ID",
    "--app": "APP",
    "--token": "TOKENS",
    "--ice-server": "ICE_SERVERS",
    "--max-sessions": "MAX_SESSIONS",
    "--dtls-role": "DTLS_ROLE",
    "--drain-timeout": "DRAIN_TIMEOUT",
    "--redis": "REDIS",
    "--heartbeat": "HEARTBEAT",
    "--advertise-http": "ADVERTISE_HTTP",
    "--rebalance": "REBALANCE",
    "--rate-limit": "RATE_LIMIT",
    "--rate-burst": "RATE_BURST",
    "--log-level": "LOG_LEVEL",
}


def test_help_names_every_flag_and_its_environment_variable() -> None:
    text = subprocess.run(
        [str(SCRIPT), "--help"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    flat = " ".join(text.split())
    for flag, env in FLAGS.items():
        assert flag in text, flag
        assert f"PYWEBRTC_SIGNALING_{env}" in flat, env
    assert "NOT IMPLEMENTED" not in flat


def test_environment_mirrors_flags_and_flags_win(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("PYWEBRTC_SIGNALING_MAX_SESSIONS", "7")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_DRAIN_TIMEOUT", "3.5")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_PUBLIC", "192.0.2.1:4000")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_TOKENS", "a, b")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_UDP", "0.0.0.0:3479")
    config, _, auth = config_from_args(build_parser().parse_args([]))
    assert config.max_sessions == 7 and config.drain_timeout == 3.5
    assert config.advertised == (("192.0.2.1", 4000),)
    assert auth.tokens == ("a", "b")
    config, _, auth = config_from_args(
        build_parser().parse_args(["--max-sessions", "9", "--token", "c"])
    )
    assert config.max_sessions == 9 and auth.tokens == ("c",)
    assert config.relays_tcp == () and not config.relayed


def test_relay_tcp_flag_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("1 000102030405060708090a0b0c0d0e0f\n")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_RELAY_TCP", "192.0.2.1:443, 192.0.2.2:443")
    config, _, _ = config_from_args(build_parser().parse_args(["--keys", str(keys)]))
    assert config.relays_tcp == (("192.0.2.1", 443), ("192.0.2.2", 443)) and config.relayed
    args = ["--keys", str(keys), "--relay-tcp", "198.51.100.1:8443"]
    config, _, _ = config_from_args(build_parser().parse_args(args))
    assert config.relays_tcp == (("198.51.100.1", 8443),)


def test_fleet_flags_and_their_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWEBRTC_SIGNALING_REDIS", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_HEARTBEAT", "0.5")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_RATE_LIMIT", "4")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_REBALANCE", "0.25")
    monkeypatch.setenv("PYWEBRTC_SIGNALING_ADVERTISE_HTTP", "http://10.0.0.5:8080/")
    args = build_parser().parse_args(["--http", "0.0.0.0:8080"])
    fleet = fleet_from_args(args)
    assert (fleet.redis, fleet.heartbeat, fleet.rebalance) == ("redis://127.0.0.1:1/0", 0.5, 0.25)
    limiter = fleet.limiter()
    assert limiter is not None and (limiter.rate, limiter.burst) == (4, 8)
    assert http_url(args.http, fleet) == "http://10.0.0.5:8080"
    fleet = fleet_from_args(build_parser().parse_args(["--rate-limit", "0", "--rate-burst", "3"]))
    assert fleet.limiter() is None
    monkeypatch.delenv("PYWEBRTC_SIGNALING_ADVERTISE_HTTP")
    fleet = fleet_from_args(build_parser().parse_args(["--http", "0.0.0.0:8080"]))
    assert http_url(("0.0.0.0", 8080), fleet) is None  # not a redirect target (logged)
    assert http_url(("::1", 8080), fleet) == "http://[::1]:8080"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "agent", "--engines", "nosuchengine"], "unknown engine"),
        (["--app", "nosuchmodule:app"], "cannot import"),
        (["--relay", "127.0.0.1:3478"], "--relay needs --keys"),
        (["--relay-tcp", "127.0.0.1:443"], "--relay-tcp needs --keys"),
        (["--udp", "0.0.0.0:3479"], "--public"),
        (["--max-sessions", "0"], "--max-sessions"),
        (["--keys", "/nonexistent/keys"], "--keys"),
        (["--ice-server", "http://example.com"], "--ice-server"),
        (["--ice-server", "stun:x|user"], "--ice-server"),
        (["--heartbeat", "0"], "--heartbeat"),
        (["--rebalance", "1.5"], "--rebalance"),
        (["--rate-limit", "-1"], "--rate-limit"),
        (["--advertise-http", "ftp://x"], "--advertise-http"),
        (["--advertise-http", "http://0.0.0.0:80"], "wildcard"),
        (
            ["--redis", "redis://127.0.0.1:1", "--udp", "0.0.0.0:3479", "--public", "192.0.2.1:1"],
            "--advertise-http",
        ),
    ],
)
def test_bad_flags_exit_with_a_reason(args: list[str], message: str) -> None:
    result = subprocess.run(
        [str(SCRIPT), "--http", "127.0.0.1:0", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
