"""``pywebrtc-relay`` as a process: --help, workers sharing a port, metrics, SIGTERM."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from relay.cli import build_parser, config_from_args, parse_address, parse_mapping
from relay.routing import Route, RouteCodec
from tests.relay.netutil import client, free_port, start_transceiver
from tests.relay.relayproc import REPO, RelayProcess
from tests.relay.stunmsg import binding_request

KEY = bytes(range(16))
CODEC = RouteCodec({2: KEY}, active=2)


def test_help_explains_every_flag() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "relay.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    for flag in [
        "--listen",
        "--keys",
        "--transceiver",
        "--cluster",
        "--redis",
        "--workers",
        "--metrics",
        "--peer-relay",
        "--io",
        "--idle-timeout",
        "--max-flows",
        "--max-addresses-per-ufrag",
        "--listen-tcp",
    ]:
        assert flag in out
    assert "PYWEBRTC_RELAY_LISTEN" in out
    assert "PYWEBRTC_RELAY_LISTEN_TCP" in " ".join(out.split())


def test_environment_mirrors_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"2 {KEY.hex()}\n")
    monkeypatch.setenv("PYWEBRTC_RELAY_LISTEN", "127.0.0.1:4000")
    monkeypatch.setenv("PYWEBRTC_RELAY_KEYS", str(keys))
    monkeypatch.setenv("PYWEBRTC_RELAY_TRANSCEIVERS", "1=10.0.0.1:5000, 2=[::1]:5001")
    monkeypatch.setenv("PYWEBRTC_RELAY_CLUSTER", "7")
    monkeypatch.setenv("PYWEBRTC_RELAY_WORKERS", "3")
    assert config_from_args(build_parser().parse_args([])).max_addresses_per_ufrag == 16
    monkeypatch.setenv("PYWEBRTC_RELAY_MAX_ADDRESSES_PER_UFRAG", "4")
    args = build_parser().parse_args([])
    config = config_from_args(args)
    assert config.max_addresses_per_ufrag == 4
    assert config.listen == ("127.0.0.1", 4000)
    assert config.transceivers == {1: ("10.0.0.1", 5000), 2: ("::1", 5001)}
    assert config.cluster == 7 and config.reuse_port and args.workers == 3
    assert config.listen_tcp is None
    monkeypatch.setenv("PYWEBRTC_RELAY_LISTEN_TCP", "0.0.0.0:443")
    assert config_from_args(build_parser().parse_args([])).listen_tcp == ("0.0.0.0", 443)
    # A flag beats the environment.
    args = build_parser().parse_args(["--cluster", "9", "--transceiver", "4=1.2.3.4:5"])
    assert args.cluster == 9
    assert config_from_args(args).transceivers == {4: ("1.2.3.4", 5)}


def test_environment_values_are_checked_like_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYWEBRTC_RELAY_IDLE_TIMEOUT", "2.5")
    monkeypatch.setenv("PYWEBRTC_RELAY_WORKERS", "")  # empty = unset
    args = build_parser().parse_args([])
    assert args.idle_timeout == 2.5 and args.workers == 1 and args.cache_ttl == 30.0
    monkeypatch.setenv("PYWEBRTC_RELAY_WORKERS", "many")
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([])
    assert exit_info.value.code == 2
    assert "--workers: invalid int value: 'many'" in capsys.readouterr().err


def test_address_parsing() -> None:
    assert parse_address("[::1]:3478") == ("::1", 3478)
    assert parse_mapping(["1=a:1,2=b:2", "3=c:3"], "x") == {1: ("a", 1), 2: ("b", 2), 3: ("c", 3)}


@pytest.mark.parametrize("io", ["c", "thread"])
def test_two_workers_serve_many_clients_and_metrics_sum_them(tmp_path: Path, io: str) -> None:
    async def scenario() -> None:
        keys = tmp_path / "keys"
        keys.write_text(f"2 {KEY.hex()}\n")
        transceiver = await start_transceiver()
        port, metrics_port = free_port(), free_port()
        loop = asyncio.get_running_loop()
        relay = await loop.run_in_executor(
            None,
            lambda: RelayProcess(
                "--listen",
                f"127.0.0.1:{port}",
                "--keys",
                str(keys),
                "--transceiver",
                f"3={transceiver.address[0]}:{transceiver.address[1]}",
                "--workers",
                "2",
                "--metrics",
                f"127.0.0.1:{metrics_port}",
                "--io",
                io,
                workers=2,
            ),
        )
        try:
            clients = [await client(("127.0.0.1", port)) for _ in range(100)]
            for c in clients:
                c.send(binding_request(f"{CODEC.encode(Route(0, 3))}:x"))
            for c in clients:
                assert (await c.recv()).startswith(b"echo:")
            for c in clients:
                c.send(b"\x80\x6fmedia")
            for c in clients:
                assert await c.recv() == b"echo:\x80\x6fmedia"
            clients[0].send(b"\x16junk-from-a-new-address")  # known address: forwarded
            stranger = await client(("127.0.0.1", port))
            stranger.send(b"\x16junk")
            await asyncio.sleep(1.5)  # workers publish their counters every second
            text = await loop.run_in_executor(
                None,
                lambda: (
                    urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
                    .read()
                    .decode()
                ),
            )
            assert "pywebrtc_relay_flows 100" in text
            assert "pywebrtc_relay_packets_from_clients_total 201" in text
            assert 'pywebrtc_relay_drops_total{reason="not_stun"} 1' in text
            # Both workers took a share (SO_REUSEPORT hashes the 4-tuples).
            assert relay.output().count("relay worker on") == 2
            assert await loop.run_in_executor(None, relay.terminate) == 0
            for c in [*clients, stranger]:
                c.close()
        finally:
            relay.close()

    asyncio.run(scenario())


def test_sigterm_is_graceful_with_one_worker(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"2 {KEY.hex()}\n")
    relay = RelayProcess(
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--keys",
        str(keys),
        "--transceiver",
        "1=127.0.0.1:9",
    )
    try:
        assert relay.terminate() == 0
    finally:
        relay.close()


def test_bad_configuration_exits_with_a_message(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("2 00\n")
    result = subprocess.run(
        [sys.executable, "-m", "relay.cli", "--keys", str(keys), "--transceiver", "1=h:1"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode != 0 and "keys line 1" in result.stderr
