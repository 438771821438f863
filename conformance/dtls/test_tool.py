"""The command-line tool (``python -m pywebrtc.dtls``) against ``openssl``, both roles."""

from __future__ import annotations

import asyncio
import re
import sys

import pytest

from conformance.dtls.test_openssl import (
    _KEYMAT,
    FIXTURES,
    OPENSSL,
    free_udp_port,
    openssl_args,
    read_until,
    stop,
)
from pywebrtc.dtls import SrtpProfile

_OURS = re.compile(rb"Keying material \(EXTRACTOR-dtls_srtp, 60 bytes\): ([0-9a-f]+)")
_PROFILE = SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80


async def tool(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pywebrtc.dtls",
        *args,
        "--cert-type",
        "rsa" if "rsa" in " ".join(args) else "ecdsa",
        "--srtp-profiles",
        "SRTP_AES128_CM_SHA1_80",
        "--timeout",
        "0.2",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def both_ways(ours: asyncio.subprocess.Process, theirs: asyncio.subprocess.Process) -> None:
    assert ours.stdin and ours.stdout and theirs.stdin and theirs.stdout
    ours.stdin.write(b"tool says hi\n")
    await ours.stdin.drain()
    await asyncio.wait_for(read_until(theirs.stdout, re.compile(rb"^(tool says hi)$")), 5)
    theirs.stdin.write(b"openssl says hi\n")
    await theirs.stdin.drain()
    await asyncio.wait_for(read_until(ours.stdout, re.compile(rb"^(openssl says hi)$")), 5)


@pytest.mark.parametrize("cert", ["ecdsa-p256", "rsa-2048"])
def test_tool_server_with_openssl_s_client(cert: str) -> None:
    async def run() -> None:
        ours = await tool(
            "server",
            "127.0.0.1:0",
            "--cert",
            str(FIXTURES / f"{cert}.crt"),
            "--key",
            str(FIXTURES / f"{cert}.key"),
        )
        theirs: asyncio.subprocess.Process | None = None
        try:
            assert ours.stdout is not None
            port = await asyncio.wait_for(
                read_until(ours.stdout, re.compile(rb"Listening on [0-9.]+:(\d+)")), 10
            )
            theirs = await asyncio.create_subprocess_exec(
                str(OPENSSL),
                "s_client",
                "-connect",
                f"127.0.0.1:{int(port)}",
                *openssl_args(cert, _PROFILE),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            assert theirs.stdout is not None
            mine = await asyncio.wait_for(read_until(ours.stdout, _OURS), 10)
            other = await asyncio.wait_for(read_until(theirs.stdout, _KEYMAT), 10)
            assert mine.upper() == other
            await both_ways(ours, theirs)
        finally:
            await stop(ours)
            if theirs is not None:
                await stop(theirs)

    asyncio.run(run())


def test_tool_client_with_openssl_s_server() -> None:
    async def run() -> None:
        port = free_udp_port()
        theirs = await asyncio.create_subprocess_exec(
            str(OPENSSL),
            "s_server",
            "-accept",
            f"127.0.0.1:{port}",
            "-verify",
            "1",
            *openssl_args("ecdsa-p256", _PROFILE),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        ours: asyncio.subprocess.Process | None = None
        try:
            assert theirs.stdout is not None
            await asyncio.wait_for(read_until(theirs.stdout, re.compile(rb"^ACCEPT")), 5)
            ours = await tool("client", f"127.0.0.1:{port}")
            assert ours.stdout is not None
            mine = await asyncio.wait_for(read_until(ours.stdout, _OURS), 10)
            other = await asyncio.wait_for(read_until(theirs.stdout, _KEYMAT), 10)
            assert mine.upper() == other
            await both_ways(ours, theirs)
        finally:
            await stop(theirs)
            if ours is not None:
                await stop(ours)

    asyncio.run(run())


def test_tool_fails_on_wrong_fingerprint() -> None:
    async def run() -> None:
        port = free_udp_port()
        theirs = await asyncio.create_subprocess_exec(
            str(OPENSSL),
            "s_server",
            "-accept",
            f"127.0.0.1:{port}",
            *openssl_args("ecdsa-p256", _PROFILE),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            assert theirs.stdout is not None
            await asyncio.wait_for(read_until(theirs.stdout, re.compile(rb"^ACCEPT")), 5)
            ours = await tool(
                "client", f"127.0.0.1:{port}", "--fingerprint", "sha-256 " + "00:" * 31 + "00"
            )
            out, _ = await asyncio.wait_for(ours.communicate(), 10)
            assert ours.returncode == 1
            assert b"Handshake failed" in out
        finally:
            await stop(theirs)

    asyncio.run(run())
