"""DTLS full handshakes per CPU-second on one core, ours vs OpenSSL (pyOpenSSL), in memory;
and our DTLS 1.3 (X25519MLKEM768 and x25519) against our DTLS 1.2 in the same run.

Both sides run in this process and hand datagrams to each other directly: ECDHE x25519,
ECDSA P-256 certificates on both sides (mutual authentication, as WebRTC), use_srtp,
extended_master_secret, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256. Certificates and, for
OpenSSL, the SSL contexts are made once and reused (certificate generation is not part of a
handshake). No HelloVerifyRequest on either side, as OpenSSL's server does none unless asked.

Setup time over a simulated 50 ms RTT path (``tests/impair.py``'s userspace proxy on loopback):
ours with DTLS 1.3, ours with 1.2 and Pion's DTLS 1.2 (``bench/piondtls``, Go, Debian's
pion/dtls v2, also configured as above and without HelloVerifyRequest), and Pion's handshake
CPU, both sides in one Go process over an in-memory pipe.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from OpenSSL import SSL, crypto

from bench.harness import Case, JsonChild, Scenario
from pywebrtc.dtls import Certificate, DtlsConfig, DtlsConnection, SrtpProfile, Transmit, aio
from pywebrtc.dtls.cipher import CipherSuiteId
from pywebrtc.dtls.extensions import NamedGroup
from pywebrtc.dtls.messages13 import DTLS_1_3
from pywebrtc.dtls.record import DTLS_1_2

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dtls"
PIONDTLS = Path(__file__).resolve().parent / "piondtls"
_CERT = FIXTURES / "ecdsa-p256.crt"
_KEY = FIXTURES / "ecdsa-p256.key"


def _ours(version: int = DTLS_1_2, group: int = NamedGroup.X25519MLKEM768) -> object:
    certificate = Certificate.from_pem(_CERT.read_bytes(), _KEY.read_bytes())
    config = DtlsConfig(
        certificate,
        cipher_suites=(CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,),
        srtp_profiles=(SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80,),
        remote_fingerprints=(certificate.fingerprint(),),
        cookie_exchange=False,
        versions=(version,),
        tls13_groups=(group,),
    )

    def handshake() -> None:
        client = DtlsConnection(config, is_client=True)
        server = DtlsConnection(config, is_client=False)
        client.connect(0.0)
        moved = True
        while moved:
            moved = False
            for src, dst in ((client, server), (server, client)):
                while (item := src.poll()) is not None:
                    if isinstance(item, Transmit):
                        dst.receive(item.data, 0.0)
                        moved = True
        assert client.is_connected and server.is_connected

    return handshake


def _openssl() -> object:
    cert = crypto.load_certificate(crypto.FILETYPE_PEM, _CERT.read_bytes())
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, _KEY.read_bytes())

    def context() -> SSL.Context:
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *a: True)
        ctx.use_certificate(cert)
        ctx.use_privatekey(key)
        ctx.set_cipher_list(b"ECDHE-ECDSA-AES128-GCM-SHA256")
        ctx.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")
        return ctx

    client_ctx, server_ctx = context(), context()

    def handshake() -> None:
        client = SSL.Connection(client_ctx)
        server = SSL.Connection(server_ctx)
        client.set_connect_state()
        server.set_accept_state()
        done = [False, False]
        for _ in range(20):
            for i, (a, b) in enumerate(((client, server), (server, client))):
                if not done[i]:
                    try:
                        a.do_handshake()
                        done[i] = True
                    except SSL.WantReadError:
                        pass
                try:
                    data = a.bio_read(65536)
                except SSL.WantReadError:
                    continue
                b.bio_write(data)
            if all(done):
                break
        assert all(done)

    return handshake


def _setup_over_rtt_ms(version: int, rtt: float = 0.05) -> float:
    """Wall time from ``connect`` to the client's handshake completing (when it may send),
    through the userspace impairment proxy of ``tests/impair.py`` adding ``rtt / 2`` each
    way on loopback; no cookie exchange (WebRTC's ICE has checked the address)."""
    from tests.impair import Impairment, Proxy

    certificate = Certificate.from_pem(_CERT.read_bytes(), _KEY.read_bytes())
    config = DtlsConfig(
        certificate,
        remote_fingerprints=(certificate.fingerprint(),),
        cookie_exchange=False,
        versions=(version,),
        initial_timeout=1.0,
    )

    async def run() -> float:
        server, address = await aio.listen("127.0.0.1", 0, config)
        link = Impairment(delay=rtt / 2)
        proxy = Proxy(("127.0.0.1", 0), address, link, link)
        await proxy.start()
        assert proxy.front is not None
        front = proxy.front.get_extra_info("sockname")
        client = await aio.connect(front[0], front[1], config)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            await asyncio.wait_for(client.handshake(), 10)
            elapsed = (loop.time() - start) * 1000.0
            await asyncio.wait_for(server.handshake(), 10)  # before closing it
            return elapsed
        finally:
            client.close()
            server.close()
            proxy.close()

    return asyncio.run(run())


def build_piondtls() -> Path:
    """``bench/piondtls`` compiled into ``build/pion/piondtls`` (again when a source is newer),
    offline against Debian's Pion."""
    from conformance.pion.driver import BUILD, build_go

    return build_go(PIONDTLS, "piondtls", BUILD / "piondtls")


class PionDtls(JsonChild):
    """``bench/piondtls``: Pion DTLS 1.2 client and server with the fixture certificate."""

    def __init__(self) -> None:
        super().__init__([str(build_piondtls()), "-cert", str(_CERT), "-key", str(_KEY)])

    def command(self, line: str) -> dict[str, Any]:
        answer = self.ask(line)
        if "error" in answer:
            raise RuntimeError(f"piondtls {line!r}: {answer['error']}")
        return answer


def pion_setup_over_rtt_ms(rtt: float = 0.05, n: int = 1) -> list[float]:
    """``n`` Pion DTLS 1.2 handshakes one after another, each from a new client socket through
    the impairment proxy (as :func:`_setup_over_rtt_ms`) to a Pion server in the same Go
    process: the client's wall time from its start to its handshake being done, each."""
    from tests.impair import Impairment, Proxy

    pion = PionDtls()
    try:
        port = pion.command("serve")["port"]

        async def run() -> list[float]:
            link = Impairment(delay=rtt / 2)
            proxy = Proxy(("127.0.0.1", 0), ("127.0.0.1", port), link, link)
            await proxy.start()
            assert proxy.front is not None
            host, front = proxy.front.get_extra_info("sockname")[:2]
            try:
                answer = await asyncio.to_thread(pion.command, f"dial {host}:{front} {n}")
            finally:
                proxy.close()
            return [float(ms) for ms in answer["ms"]]

        return asyncio.run(run())
    finally:
        pion.close()


def pion_cpu_ms(n: int = 200) -> float:
    """Pion's CPU time per full handshake, both sides (Go's process CPU, every thread, over
    ``n`` handshakes after one to warm up, in memory)."""
    pion = PionDtls()
    try:
        return float(pion.command(f"cpu {n}")["cpu_ms"])
    finally:
        pion.close()


def _per_cpu_second(op: object, min_cpu: float = 1.0) -> float:
    """Handshakes per second of CPU time: one core's throughput, robust to other load."""
    assert callable(op)
    n, count, start = 50, 0, time.process_time()
    while True:
        for _ in range(n):
            op()
        count += n
        used = time.process_time() - start
        if used >= min_cpu:
            return count / used


def _cpu_ms(op: object, n: int = 200) -> float:
    assert callable(op)
    start = time.process_time()
    for _ in range(n):
        op()
    return (time.process_time() - start) * 1000.0 / n


def scenario() -> Scenario:
    ours, theirs = _ours(), _openssl()
    hybrid, x25519 = _ours(DTLS_1_3), _ours(DTLS_1_3, NamedGroup.X25519)
    assert callable(ours) and callable(theirs)
    return Scenario(
        name="dtls",
        description=__doc__ or "",
        cases=[
            Case(
                "full DTLS 1.2 handshakes per CPU-second (client + server, one core)",
                lambda: _per_cpu_second(ours),
                lambda: _per_cpu_second(theirs),
                peer_name="pyOpenSSL (OpenSSL, reused context)",
                unit="handshakes/s",
            ),
            Case(
                "CPU time per full handshake (both sides)",
                lambda: _cpu_ms(ours),
                lambda: _cpu_ms(theirs),
                peer_name="pyOpenSSL (OpenSSL, reused context)",
                unit="CPU ms",
                higher_is_better=False,
            ),
            Case(
                "CPU time per full handshake, ours DTLS 1.3 X25519MLKEM768 vs ours DTLS 1.2",
                lambda: _cpu_ms(hybrid),
                lambda: _cpu_ms(ours),
                peer_name="pywebrtc DTLS 1.2 (x25519)",
                unit="CPU ms",
                higher_is_better=False,
            ),
            Case(
                "client ready after connect over a 50 ms RTT path, ours DTLS 1.3 vs ours 1.2",
                lambda: _setup_over_rtt_ms(DTLS_1_3),
                lambda: _setup_over_rtt_ms(DTLS_1_2),
                peer_name="pywebrtc DTLS 1.2",
                unit="ms",
                higher_is_better=False,
            ),
            Case(
                "client ready after connect over a 50 ms RTT path, ours DTLS 1.3 vs Pion DTLS 1.2",
                lambda: _setup_over_rtt_ms(DTLS_1_3),
                lambda: pion_setup_over_rtt_ms()[0],
                peer_name="Pion DTLS 1.2 (pion/dtls v2)",
                unit="ms",
                higher_is_better=False,
            ),
            Case(
                "client ready after connect over a 50 ms RTT path, ours DTLS 1.2 vs Pion DTLS 1.2",
                lambda: _setup_over_rtt_ms(DTLS_1_2),
                lambda: pion_setup_over_rtt_ms()[0],
                peer_name="Pion DTLS 1.2 (pion/dtls v2)",
                unit="ms",
                higher_is_better=False,
            ),
            Case(
                "CPU time per full handshake, ours DTLS 1.3 X25519MLKEM768 vs Pion DTLS 1.2",
                lambda: _cpu_ms(hybrid),
                pion_cpu_ms,
                peer_name="Pion DTLS 1.2 (pion/dtls v2, Go, x25519)",
                unit="CPU ms",
                higher_is_better=False,
            ),
            Case(
                "CPU time per full handshake, ours DTLS 1.3 x25519 vs ours DTLS 1.2",
                lambda: _cpu_ms(x25519),
                lambda: _cpu_ms(ours),
                peer_name="pywebrtc DTLS 1.2 (x25519)",
                unit="CPU ms",
                higher_is_better=False,
            ),
        ],
        repeats=5,
        notes=[
            "ECDSA P-256 certificates both sides, x25519, AES_128_GCM_SHA256, use_srtp, EMS",
            "DTLS 1.3: TLS_AES_128_GCM_SHA256, mutual ECDSA P-256 CertificateVerify, use_srtp, "
            "the server's ACK; no HelloRetryRequest",
            "every figure but the 50 ms RTT ones is CPU time (time.process_time; for Pion its Go "
            "process's, every thread), robust to other load on the host",
            "50 ms RTT: wall time, tests/impair.py's proxy in Python adding 25 ms each way; ours: "
            "client, server and proxy on one asyncio loop; Pion: client and server in one Go "
            "process (a new one each run: its first handshake measured no slower than later ones), "
            "the proxy in this one",
            "Pion (Debian's pion/dtls 2.2.6, Go 1.19): the same certificate and fingerprint check, "
            "x25519 only, ECDHE-ECDSA-AES128-GCM-SHA256, EMS required, use_srtp (AEAD_AES_128_GCM, "
            "AES128_CM_SHA1_80), no HelloVerifyRequest (its server's InsecureSkipVerifyHello)",
        ],
    )
