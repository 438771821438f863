"""The client side of the DTLS 1.2 handshake (RFC 6347 §4.2, RFC 5246 §7.4, RFC 8422 ECDHE).

:class:`ClientHandshake` sends flight 1 (ClientHello, again with the cookie after a
HelloVerifyRequest), checks the server's flight 4 (ServerHello, Certificate, ServerKeyExchange,
CertificateRequest, ServerHelloDone), sends flight 5 (Certificate, ClientKeyExchange,
CertificateVerify, ChangeCipherSpec, Finished) and verifies the server's Finished. It is one
part of a :class:`~pywebrtc.dtls.connection.DtlsConnection`, whose record layer, flights,
transcript and keys it uses; the server side is :mod:`pywebrtc.dtls.server`.
"""

from __future__ import annotations

import functools
import hmac
import os
from typing import TYPE_CHECKING

from pywebrtc.dtls.certificate import SUPPORTED_SCHEMES, key_type_of, verify_signature
from pywebrtc.dtls.cipher import SUITES
from pywebrtc.dtls.dtls13 import Dtls13, downgrade_sentinel
from pywebrtc.dtls.errors import (
    DecodeError,
    DecryptError,
    HandshakeFailure,
    IllegalParameter,
    ProtocolVersionError,
    UnexpectedMessage,
    UnsupportedExtension,
)
from pywebrtc.dtls.extensions import (
    EcPointFormats,
    Extension,
    ExtensionType,
    RenegotiationInfo,
    SignatureAlgorithms,
    SrtpProfile,
    SupportedGroups,
    UseSrtp,
    find,
    renegotiated,
)
from pywebrtc.dtls.flight import CHANGE_CIPHER_SPEC, FlightMessage
from pywebrtc.dtls.handshake import (
    RANDOM_SIZE,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    Finished,
    HandshakeType,
    HelloVerifyRequest,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    certificate_body,
)
from pywebrtc.dtls.keyexchange import KeyShare
from pywebrtc.dtls.messages13 import (
    DTLS_1_3,
    encode_client_shares,
    encode_client_supported_versions,
)
from pywebrtc.dtls.reassembly import Message
from pywebrtc.dtls.record import DTLS_1_0, DTLS_1_2
from pywebrtc.dtls.record13 import SUITES13
from pywebrtc.dtls.state import State

if TYPE_CHECKING:
    from pywebrtc.dtls.connection import DtlsConnection


@functools.lru_cache(maxsize=16)
def _client_extensions(
    groups: tuple[int, ...], srtp_profiles: tuple[int, ...]
) -> tuple[Extension, ...]:
    """What a client offers; the same for every connection with one config, so cached."""
    extensions = [
        Extension(ExtensionType.SUPPORTED_GROUPS, bytes(SupportedGroups(groups))),
        Extension(ExtensionType.EC_POINT_FORMATS, bytes(EcPointFormats())),
        Extension(
            ExtensionType.SIGNATURE_ALGORITHMS, bytes(SignatureAlgorithms(SUPPORTED_SCHEMES))
        ),
    ]
    if srtp_profiles:
        extensions.append(Extension(ExtensionType.USE_SRTP, bytes(UseSrtp(srtp_profiles))))
    extensions.append(Extension(ExtensionType.EXTENDED_MASTER_SECRET, b""))
    extensions.append(Extension(ExtensionType.RENEGOTIATION_INFO, bytes(RenegotiationInfo())))
    return tuple(extensions)


class ClientHandshake:
    """The handshake messages of a DTLS client, for one connection."""

    def __init__(self, connection: DtlsConnection) -> None:
        self.connection = connection
        self.hello: ClientHello | None = None
        self.key_share: KeyShare | None = None
        self.peer_public = b""

    def start(self, now: float) -> None:
        """Send the first ClientHello (flight 1)."""
        conn = self.connection
        conn._neg.client_random = os.urandom(RANDOM_SIZE)
        if DTLS_1_3 in conn.config.versions:
            # Offering 1.3 too: its machine holds our key share and takes over if the server
            # picks 1.3 (RFC 8446 §4.2.1).
            conn._v13 = Dtls13(conn)
        self.hello = self._make_client_hello(b"")
        conn.state = State.WAIT_HELLO
        conn._send_flight([conn._handshake(HandshakeType.CLIENT_HELLO, bytes(self.hello))], now)

    def _make_client_hello(self, cookie: bytes) -> ClientHello:
        conn = self.connection
        cfg = conn.config
        extensions = _client_extensions(cfg.groups, cfg.srtp_profiles)
        suites = tuple(s for s in cfg.cipher_suites if s in SUITES)
        v13 = conn._v13
        if v13 is not None:
            # DTLS 1.3 and 1.2 in one ClientHello: 1.3 suites first, the 1.3 groups joined
            # to the 1.2 ones, supported_versions and one key share (for our first group).
            suites13 = tuple(s for s in cfg.tls13_suites if s in SUITES13)
            if DTLS_1_2 not in cfg.versions:
                suites = ()
            suites = suites13 + suites
            groups = tuple(dict.fromkeys((*cfg.tls13_groups, *cfg.groups)))
            versions = tuple(v for v in cfg.versions if v in (DTLS_1_3, DTLS_1_2))
            share = v13.offer(cfg.tls13_groups[0])
            extensions = (
                *(
                    Extension(ExtensionType.SUPPORTED_GROUPS, bytes(SupportedGroups(groups)))
                    if e.type == ExtensionType.SUPPORTED_GROUPS
                    else e
                    for e in extensions
                ),
                Extension(
                    ExtensionType.SUPPORTED_VERSIONS, encode_client_supported_versions(versions)
                ),
                Extension(ExtensionType.KEY_SHARE, encode_client_shares((share,))),
            )
        conn._neg.offered_extensions = frozenset(e.type for e in extensions)
        return ClientHello(
            DTLS_1_2, conn._neg.client_random, b"", cookie, suites, b"\x00", extensions
        )

    def on_message(self, message: Message, now: float) -> None:
        conn = self.connection
        t, body, neg = message.msg_type, message.body, conn._neg
        if conn.state is State.WAIT_HELLO and t == HandshakeType.HELLO_VERIFY_REQUEST:
            hvr = HelloVerifyRequest.parse(body)
            if hvr.server_version not in (DTLS_1_0, DTLS_1_2):
                raise ProtocolVersionError(f"HelloVerifyRequest version {hvr.server_version:#x}")
            # RFC 6347 §4.2.1: HVR and the first ClientHello stay out of the handshake hash.
            conn._transcript.clear()
            conn._transcript_hasher = None
            self.hello = self._make_client_hello(hvr.cookie)
            conn._send_flight([conn._handshake(HandshakeType.CLIENT_HELLO, bytes(self.hello))], now)
            return
        if conn.state is State.WAIT_HELLO and t == HandshakeType.SERVER_HELLO:
            # The ClientHello timer keeps running until the whole of flight 4 is in: if the
            # rest is lost, retransmitting the ClientHello makes the server resend it.
            self._on_server_hello(ServerHello.parse(body))
            conn._record_received(message)
            conn.state = State.WAIT_FLIGHT
            return
        if conn.state is State.WAIT_FLIGHT:
            conn._record_received(message)
            if t == HandshakeType.CERTIFICATE and neg.peer_key is None:
                conn._check_certificate(body)
                if neg.suite is not None and key_type_of(conn._peer_key()) != neg.suite.signature:
                    raise HandshakeFailure("server certificate does not fit the cipher suite")
            elif t == HandshakeType.SERVER_KEY_EXCHANGE and self.key_share is None:
                self._on_server_key_exchange(ServerKeyExchange.parse(body))
            elif (
                t == HandshakeType.CERTIFICATE_REQUEST
                and self.key_share is not None
                and not neg.certificate_requested
            ):
                request = CertificateRequest.parse(body)
                neg.certificate_requested = True
                neg.request_schemes = request.signature_schemes
            elif t == HandshakeType.SERVER_HELLO_DONE and self.key_share is not None:
                ServerHelloDone.parse(body)
                self._send_client_flight(now)
            else:
                raise UnexpectedMessage(f"unexpected handshake message {t} from server")
            return
        if conn.state is State.WAIT_FINISHED and t == HandshakeType.FINISHED:
            expected = conn._finished(b"server finished")
            if not hmac.compare_digest(Finished.parse(body).verify_data, expected):
                raise DecryptError("server Finished does not verify")
            conn._record_received(message)
            conn._timer.stop()
            conn._flight = None
            conn._complete()
            return
        raise UnexpectedMessage(f"unexpected handshake message {t} in state {conn.state.value}")

    def _on_server_hello(self, hello: ServerHello) -> None:
        conn = self.connection
        neg = conn._neg
        if hello.server_version != DTLS_1_2:
            raise ProtocolVersionError(f"server chose version {hello.server_version:#x}")
        if DTLS_1_3 in conn.config.versions and downgrade_sentinel(hello.random):
            # RFC 8446 §4.1.3: a 1.3 server answered 1.2 to our 1.3 offer; someone in the
            # middle removed it.
            raise IllegalParameter("downgrade to DTLS 1.2 detected")
        if find(hello.extensions, ExtensionType.SUPPORTED_VERSIONS) is not None:
            raise IllegalParameter("supported_versions in a DTLS 1.2 ServerHello")
        if DTLS_1_2 not in conn.config.versions:
            raise ProtocolVersionError("server chose DTLS 1.2, which we do not allow")
        assert self.hello is not None
        if hello.cipher_suite not in self.hello.cipher_suites:
            raise IllegalParameter("server chose a cipher suite we did not offer")
        if hello.compression_method != 0:
            raise IllegalParameter("server chose compression")
        neg.suite = SUITES[hello.cipher_suite]
        neg.server_random = hello.random
        for ext in hello.extensions:
            if ext.type not in neg.offered_extensions:
                raise UnsupportedExtension(f"server sent extension {ext.type} we did not offer")
        ri = find(hello.extensions, ExtensionType.RENEGOTIATION_INFO)
        if ri is not None:
            if renegotiated(ri):
                raise HandshakeFailure("non-empty renegotiation_info in an initial handshake")
            neg.secure_renegotiation = True
        ems = find(hello.extensions, ExtensionType.EXTENDED_MASTER_SECRET)
        if ems is not None and ems:
            raise DecodeError("extended_master_secret with a body")
        neg.extended_master_secret = ems is not None
        if conn.config.require_extended_master_secret and ems is None:
            raise HandshakeFailure("server does not support extended_master_secret")
        srtp = find(hello.extensions, ExtensionType.USE_SRTP)
        if srtp is not None:
            use = UseSrtp.parse(srtp)
            if len(use.profiles) != 1 or use.profiles[0] not in conn.config.srtp_profiles:
                raise IllegalParameter("server chose an SRTP profile we did not offer")
            neg.srtp_profile = SrtpProfile(use.profiles[0])

    def _on_server_key_exchange(self, ske: ServerKeyExchange) -> None:
        conn = self.connection
        neg = conn._neg
        if ske.named_group not in conn.config.groups:
            raise IllegalParameter("server chose a group we did not offer")
        if ske.signature_scheme not in SUPPORTED_SCHEMES:
            raise IllegalParameter("server used a signature scheme we did not offer")
        signed = neg.client_random + neg.server_random + ske.params
        verify_signature(conn._peer_key(), ske.signature_scheme, signed, ske.signature)
        neg.group = ske.named_group
        self.key_share = KeyShare(ske.named_group)
        self.peer_public = ske.public_key

    def _send_client_flight(self, now: float) -> None:
        conn = self.connection
        neg = conn._neg
        assert self.key_share is not None
        messages: list[FlightMessage] = []
        cert = conn.config.certificate
        scheme: int | None = None
        if neg.certificate_requested:
            scheme = cert.choose_scheme(neg.request_schemes)
            if scheme is None:
                raise HandshakeFailure("no signature scheme in common for our certificate")
            body = certificate_body(cert.der)
            messages.append(conn._handshake(HandshakeType.CERTIFICATE, body))
        pre_master = self.key_share.exchange(self.peer_public)
        messages.append(
            conn._handshake(
                HandshakeType.CLIENT_KEY_EXCHANGE,
                bytes(ClientKeyExchange(self.key_share.public_key)),
            )
        )
        conn._derive_keys(pre_master)
        if scheme is not None:
            signature = cert.sign(scheme, b"".join(conn._transcript))
            messages.append(
                conn._handshake(
                    HandshakeType.CERTIFICATE_VERIFY, bytes(CertificateVerify(scheme, signature))
                )
            )
        messages.append(CHANGE_CIPHER_SPEC)
        verify = conn._finished(b"client finished")
        messages.append(conn._handshake(HandshakeType.FINISHED, verify, epoch=1))
        conn._write_epoch = 1
        conn.state = State.WAIT_FINISHED
        conn._send_flight(messages, now)
