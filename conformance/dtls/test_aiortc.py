"""Interop with aiortc's DTLS transport (``RTCDtlsTransport``, pyOpenSSL), both roles.

aiortc runs unmodified; only its ICE transport is replaced by an in-memory pipe that carries
datagrams to and from our ``DtlsSession``. (aiortc's bundled OpenSSL 4.0 offers DTLS 1.2
only, with encrypt_then_mac, which our server ignores.) Both sides check fingerprints.
"""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from aiortc.rtcdtlstransport import (
    RTCCertificate,
    RTCDtlsFingerprint,
    RTCDtlsParameters,
    RTCDtlsTransport,
)

from pywebrtc.dtls import Certificate, DtlsConfig, Fingerprint
from pywebrtc.dtls.aio import DtlsSession
from tests.dtls.peers import load_certificate

LABEL = "EXTRACTOR-dtls_srtp"


class FakeIceTransport:
    """Just enough of RTCIceTransport for RTCDtlsTransport: role, _recv, _send."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.state = "completed"
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.peer: DtlsSession | None = None
        self.sent: list[bytes] = []

    async def _recv(self) -> bytes:
        data = await self.inbox.get()
        if data is None:
            raise ConnectionError("closed")
        return data

    async def _send(self, data: bytes) -> None:
        assert self.peer is not None
        self.sent.append(data)
        self.peer.datagram_received(data, ("aiortc", 1))


class ToAiortc:
    """The datagram transport our session writes to: straight into aiortc's inbox."""

    def __init__(self, ice: FakeIceTransport) -> None:
        self.ice = ice

    def sendto(self, data: bytes, addr: object = None) -> None:
        self.ice.inbox.put_nowait(data)

    def close(self) -> None:
        self.ice.inbox.put_nowait(None)

    def get_extra_info(self, name: str) -> object:
        return None


class Receiver:
    def __init__(self) -> None:
        self.data: asyncio.Queue[bytes] = asyncio.Queue()

    async def _handle_data(self, data: bytes) -> None:
        await self.data.put(data)


def aiortc_fingerprints(cert: RTCCertificate) -> tuple[Fingerprint, ...]:
    return tuple(Fingerprint.parse(f"{f.algorithm} {f.value}") for f in cert.getFingerprints())


def dtls_pair(our_role: str) -> tuple[RTCDtlsTransport, DtlsSession, RTCDtlsParameters]:
    """aiortc's DTLS transport and our session in ``our_role``, joined by the in-memory pipe,
    neither started: start aiortc's with the parameters returned (our fingerprint)."""
    ours_cert: Certificate = load_certificate()
    theirs_cert = RTCCertificate.generateCertificate()
    # aiortc's ICE role decides nothing here: we set its DTLS role explicitly.
    ice = FakeIceTransport("controlling")
    theirs = RTCDtlsTransport(cast(object, ice), [theirs_cert])  # type: ignore[arg-type]
    theirs._set_role("server" if our_role == "client" else "client")
    config = DtlsConfig(
        ours_cert, remote_fingerprints=aiortc_fingerprints(theirs_cert), initial_timeout=0.2
    )
    session = DtlsSession(
        config,
        is_client=our_role == "client",
        peer=("aiortc", 1) if our_role == "client" else None,
    )
    session.connection_made(cast(asyncio.DatagramTransport, ToAiortc(ice)))
    ice.peer = session
    ours_fp = ours_cert.fingerprint()
    params = RTCDtlsParameters(fingerprints=[RTCDtlsFingerprint("sha-256", ours_fp.value)])
    return theirs, session, params


@pytest.mark.parametrize("our_role", ["client", "server"])
def test_handshake_srtp_keys_and_data_with_aiortc(our_role: str) -> None:
    async def run() -> None:
        theirs, session, params = dtls_pair(our_role)
        receiver = Receiver()
        theirs._register_data_receiver(receiver)
        theirs_start = asyncio.ensure_future(theirs.start(params))
        try:
            done = await asyncio.wait_for(session.handshake(), 10)
            await asyncio.wait_for(theirs_start, 10)
            assert theirs.state == "connected"
            assert done.srtp_profile is not None
            assert theirs._ssl is not None
            assert session.conn is not None
            mine = session.conn.export_keying_material(LABEL, 60)
            other = theirs._ssl.export_keying_material(LABEL.encode(), 60, None)
            assert mine == other
            session.send(b"to aiortc")
            assert await asyncio.wait_for(receiver.data.get(), 5) == b"to aiortc"
            await theirs._send_data(b"to pywebrtc")
            assert await asyncio.wait_for(session.recv(), 5) == b"to pywebrtc"
        finally:
            await theirs.stop()
            session.close()
            if not theirs_start.done():
                theirs_start.cancel()

    asyncio.run(run())
