"""Interop with the real ``openssl`` binary (s_server / s_client, DTLS 1.2), both roles.

Each test runs openssl on a dynamically picked localhost port, completes a handshake with
use_srtp, compares the RFC 5705 EXTRACTOR-dtls_srtp keying material both sides print, and
moves application data both ways. The openssl process is killed in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pywebrtc.dtls import Certificate, DtlsConfig, SrtpProfile
from pywebrtc.dtls.aio import DtlsSession, connect, listen
from pywebrtc.dtls.cipher import CipherSuiteId

FIXTURES = Path(__file__).resolve().parent.parent.parent / "tests" / "fixtures" / "dtls"
OPENSSL = shutil.which("openssl") or "openssl"  # missing: the tests fail, never skip

LABEL = "EXTRACTOR-dtls_srtp"
_KEYMAT = re.compile(rb"Keying material: ([0-9A-F]+)")
_PROFILE_NAMES = {
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80: "SRTP_AES128_CM_SHA1_80",
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32: "SRTP_AES128_CM_SHA1_32",
    SrtpProfile.SRTP_AEAD_AES_128_GCM: "SRTP_AEAD_AES_128_GCM",
    SrtpProfile.SRTP_AEAD_AES_256_GCM: "SRTP_AEAD_AES_256_GCM",
}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def certificate(name: str) -> Certificate:
    return Certificate.from_pem(
        (FIXTURES / f"{name}.crt").read_bytes(), (FIXTURES / f"{name}.key").read_bytes()
    )


def pinned(cert: str, profile: SrtpProfile) -> DtlsConfig:
    """Our config with ``cert``, offering only ``profile``, expecting the peer to show ``cert``."""
    return DtlsConfig(
        certificate(cert),
        srtp_profiles=(profile,),
        remote_fingerprints=(certificate(cert).fingerprint(),),
        initial_timeout=0.2,
    )


def openssl_args(name: str, profile: SrtpProfile) -> list[str]:
    return [
        "-dtls1_2",
        "-cert",
        str(FIXTURES / f"{name}.crt"),
        "-key",
        str(FIXTURES / f"{name}.key"),
        "-use_srtp",
        _PROFILE_NAMES[profile],
        "-keymatexport",
        LABEL,
        "-keymatexportlen",
        "60",
    ]


async def read_until(stream: asyncio.StreamReader, pattern: re.Pattern[bytes]) -> bytes:
    seen = b""
    while True:
        line = await stream.readline()
        if not line:
            raise AssertionError(f"openssl exited before {pattern.pattern!r}; output:\n{seen!r}")
        seen += line
        match = pattern.search(line)
        if match:
            return match.group(1) if match.groups() else line


async def expect(
    proc: asyncio.subprocess.Process, pattern: re.Pattern[bytes], within: float = 5
) -> bytes:
    """The first match of ``pattern`` in ``proc``'s output (its group 1 if it has one)."""
    assert proc.stdout is not None
    return await asyncio.wait_for(read_until(proc.stdout, pattern), within)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


@contextlib.asynccontextmanager
async def openssl(
    command: str, cert: str, profile: SrtpProfile, *args: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``openssl s_server`` or ``s_client`` with ``cert`` and ``profile`` (stdin and output
    piped, stderr into stdout), killed on the way out. An s_server has printed ACCEPT."""
    proc = await asyncio.create_subprocess_exec(
        OPENSSL,
        command,
        *args,
        *openssl_args(cert, profile),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        if command == "s_server":
            await expect(proc, re.compile(rb"^ACCEPT"))
        yield proc
    finally:
        await stop(proc)


async def same_keying_material(session: DtlsSession, proc: asyncio.subprocess.Process) -> None:
    """The RFC 5705 EXTRACTOR-dtls_srtp bytes openssl prints are the ones we export."""
    theirs = await expect(proc, _KEYMAT)
    assert session.conn is not None
    assert session.conn.export_keying_material(LABEL, 60).hex().upper().encode() == theirs


async def exchange(session: DtlsSession, proc: asyncio.subprocess.Process) -> None:
    """Data both ways: openssl stdin → us, us → openssl stdout."""
    assert proc.stdin is not None
    proc.stdin.write(b"from openssl\n")
    await proc.stdin.drain()
    assert await asyncio.wait_for(session.recv(), 5) == b"from openssl\n"
    session.send(b"from pywebrtc\n")
    await expect(proc, re.compile(rb"^(from pywebrtc)$"))


CASES = [
    ("ecdsa-p256", SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80),
    ("rsa-2048", SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80),
    ("ecdsa-p256", SrtpProfile.SRTP_AEAD_AES_128_GCM),
    ("ecdsa-p384", SrtpProfile.SRTP_AEAD_AES_256_GCM),
]


@pytest.mark.parametrize(("cert", "profile"), CASES)
def test_client_against_openssl_s_server(cert: str, profile: SrtpProfile) -> None:
    async def run() -> None:
        port = free_udp_port()
        accept = ("-accept", f"127.0.0.1:{port}", "-verify", "1")
        config = pinned(cert, profile)
        async with openssl("s_server", cert, profile, *accept) as proc:
            with contextlib.closing(await connect("127.0.0.1", port, config)) as session:
                done = await asyncio.wait_for(session.handshake(), 5)
                assert done.srtp_profile is profile
                assert done.extended_master_secret
                await same_keying_material(session, proc)
                await exchange(session, proc)

    asyncio.run(run())


@pytest.mark.parametrize(("cert", "profile"), CASES)
def test_server_against_openssl_s_client(cert: str, profile: SrtpProfile) -> None:
    async def run() -> None:
        session, (host, port) = await listen("127.0.0.1", 0, pinned(cert, profile))
        with contextlib.closing(session):
            async with openssl("s_client", cert, profile, "-connect", f"{host}:{port}") as proc:
                done = await asyncio.wait_for(session.handshake(), 5)
                assert done.srtp_profile is profile
                await same_keying_material(session, proc)
                await exchange(session, proc)

    asyncio.run(run())


@pytest.mark.parametrize(
    "suite",
    [
        CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuiteId.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ],
)
def test_each_suite_against_openssl(suite: CipherSuiteId) -> None:
    async def run() -> None:
        config = DtlsConfig(certificate("ecdsa-p256"), cipher_suites=(suite,), initial_timeout=0.2)
        session, (host, port) = await listen("127.0.0.1", 0, config)
        profile = SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80
        with contextlib.closing(session):
            async with openssl(
                "s_client", "ecdsa-p256", profile, "-connect", f"{host}:{port}"
            ) as proc:
                done = await asyncio.wait_for(session.handshake(), 5)
                assert done.cipher_suite == suite.name
                await exchange(session, proc)

    asyncio.run(run())


@pytest.mark.parametrize("cert", ["rsa-2048", "ecdsa-p384"])
def test_small_mtu_fragmentation_both_ways_with_openssl(cert: str) -> None:
    """Both sides fragment their flights (RSA chains at MTU 300) and reassemble the other's."""

    async def run() -> None:
        port = free_udp_port()
        profile = SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80
        accept = ("-accept", f"127.0.0.1:{port}", "-verify", "1", "-mtu", "300")
        config = DtlsConfig(
            certificate(cert), srtp_profiles=(profile,), mtu=300, initial_timeout=0.2
        )
        async with openssl("s_server", cert, profile, *accept) as proc:
            with contextlib.closing(await connect("127.0.0.1", port, config)) as session:
                await asyncio.wait_for(session.handshake(), 5)
                await same_keying_material(session, proc)
                await exchange(session, proc)

    asyncio.run(run())


@pytest.mark.parametrize(
    "suite",
    [
        CipherSuiteId.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuiteId.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuiteId.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ],
)
def test_rsa_suites_as_client_against_openssl(suite: CipherSuiteId) -> None:
    async def run() -> None:
        port = free_udp_port()
        profile = SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80
        config = DtlsConfig(certificate("ecdsa-p256"), cipher_suites=(suite,), initial_timeout=0.2)
        async with openssl("s_server", "rsa-2048", profile, "-accept", f"127.0.0.1:{port}") as proc:
            with contextlib.closing(await connect("127.0.0.1", port, config)) as session:
                done = await asyncio.wait_for(session.handshake(), 5)
                assert done.cipher_suite == suite.name
                await exchange(session, proc)

    asyncio.run(run())
