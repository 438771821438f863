"""The command-line tool (``python -m pywebrtc.dtls``) against ``openssl``, both roles."""

from __future__ import annotations

import asyncio
import re
import sys

import pytest

from conformance.dtls.test_openssl import (
    _KEYMAT,
    FIXTURES,
    expect,
    free_udp_port,
    openssl,
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
    """The same keying material printed by both, then a line each way."""
    mine = await expect(ours, _OURS, 10)
    assert mine.upper() == await expect(theirs, _KEYMAT, 10)
    assert ours.stdin and theirs.stdin
    ours.stdin.write(b"tool says hi\n")
    await ours.stdin.drain()
    await expect(theirs, re.compile(rb"^(tool says hi)$"))
    theirs.stdin.write(b"openssl says hi\n")
    await theirs.stdin.drain()
    await expect(ours, re.compile(rb"^(openssl says hi)$"))


@pytest.mark.parametrize("cert", ["ecdsa-p256", "rsa-2048"])
def test_tool_server_with_openssl_s_client(cert: str) -> None:
    async def run() -> None:
        key = ("--cert", str(FIXTURES / f"{cert}.crt"), "--key", str(FIXTURES / f"{cert}.key"))
        ours = await tool("server", "127.0.0.1:0", *key)
        try:
            port = await expect(ours, re.compile(rb"Listening on [0-9.]+:(\d+)"), 10)
            async with openssl(
                "s_client", cert, _PROFILE, "-connect", f"127.0.0.1:{int(port)}"
            ) as theirs:
                await both_ways(ours, theirs)
        finally:
            await stop(ours)

    asyncio.run(run())


def test_tool_client_with_openssl_s_server() -> None:
    async def run() -> None:
        port = free_udp_port()
        accept = ("-accept", f"127.0.0.1:{port}", "-verify", "1")
        async with openssl("s_server", "ecdsa-p256", _PROFILE, *accept) as theirs:
            ours = await tool("client", f"127.0.0.1:{port}")
            try:
                await both_ways(ours, theirs)
            finally:
                await stop(ours)

    asyncio.run(run())


def test_tool_fails_on_wrong_fingerprint() -> None:
    async def run() -> None:
        port = free_udp_port()
        async with openssl("s_server", "ecdsa-p256", _PROFILE, "-accept", f"127.0.0.1:{port}"):
            ours = await tool(
                "client", f"127.0.0.1:{port}", "--fingerprint", "sha-256 " + "00:" * 31 + "00"
            )
            out, _ = await asyncio.wait_for(ours.communicate(), 10)
            assert ours.returncode == 1
            assert b"Handshake failed" in out

    asyncio.run(run())
