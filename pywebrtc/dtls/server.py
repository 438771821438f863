"""The server side of the DTLS 1.2 handshake (RFC 6347 §4.2, RFC 5246 §7.4, RFC 8422 ECDHE).

:class:`ServerHandshake` answers a ClientHello with a stateless HelloVerifyRequest cookie
(RFC 6347 §4.2.1) until the cookie comes back, chooses suite, group, signature scheme and SRTP
profile, sends flight 4 (ServerHello, Certificate, ServerKeyExchange, CertificateRequest,
ServerHelloDone), checks the client's flight 5 and sends its ChangeCipherSpec and Finished. It
is one part of a :class:`~pywebrtc.dtls.connection.DtlsConnection`, whose record layer, flights,
transcript and keys it uses; the client side is :mod:`pywebrtc.dtls.client`.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
from typing import TYPE_CHECKING

from pywebrtc.dtls.certificate import SUPPORTED_SCHEMES, verify_signature
from pywebrtc.dtls.cipher import SUITES, TLS_EMPTY_RENEGOTIATION_INFO_SCSV
from pywebrtc.dtls.cookie import CookieVerifier
from pywebrtc.dtls.errors import (
    DecodeError,
    DecryptError,
    DtlsError,
    HandshakeFailure,
    IllegalParameter,
    ProtocolVersionError,
    UnexpectedMessage,
)
from pywebrtc.dtls.extensions import (
    EMPTY_RENEGOTIATION_INFO,
    EcPointFormats,
    Extension,
    ExtensionType,
    NamedGroup,
    SignatureAlgorithms,
    SrtpProfile,
    SupportedGroups,
    UseSrtp,
    find,
    renegotiated,
)
from pywebrtc.dtls.flight import CHANGE_CIPHER_SPEC
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
    ServerKeyExchange,
    certificate_body,
    encode_message,
)
from pywebrtc.dtls.keyexchange import KeyShare
from pywebrtc.dtls.messages13 import DOWNGRADE_TLS12, DTLS_1_3, client_supported_versions
from pywebrtc.dtls.reassembly import Message
from pywebrtc.dtls.record import DTLS_1_0, DTLS_1_2, ContentType, header
from pywebrtc.dtls.state import State

if TYPE_CHECKING:
    from pywebrtc.dtls.connection import DtlsConnection

logger = logging.getLogger(__name__)

# RFC 5246 §7.4.4 ClientCertificateType: rsa_sign, ecdsa_sign (RFC 8422 §5.5).
_CERT_TYPES = bytes((1, 64))
_SHARED_COOKIES = CookieVerifier()
_REQUEST_BODY = bytes(CertificateRequest(_CERT_TYPES, SUPPORTED_SCHEMES))
# What a server answers never depends on the connection but for the SRTP profile: built once.
_REPLY_RENEGOTIATION_INFO = Extension(ExtensionType.RENEGOTIATION_INFO, EMPTY_RENEGOTIATION_INFO)
_REPLY_EMS = Extension(ExtensionType.EXTENDED_MASTER_SECRET, b"")
_REPLY_POINT_FORMATS = Extension(ExtensionType.EC_POINT_FORMATS, bytes(EcPointFormats()))


def _offers_13(hello: ClientHello) -> bool:
    """Whether a ClientHello's supported_versions lists DTLS 1.3 (RFC 8446 §4.2.1)."""
    versions = find(hello.extensions, ExtensionType.SUPPORTED_VERSIONS)
    if versions is None:
        return False
    try:
        return DTLS_1_3 in client_supported_versions(versions)
    except DecodeError:
        return False


@functools.lru_cache(maxsize=8)
def _use_srtp_reply(profile: int) -> Extension:
    return Extension(ExtensionType.USE_SRTP, bytes(UseSrtp((profile,))))


class ServerHandshake:
    """The handshake messages of a DTLS server, for one connection."""

    def __init__(self, connection: DtlsConnection) -> None:
        self.connection = connection
        self.cookies = connection.config.cookie_verifier or _SHARED_COOKIES
        self.key_share: KeyShare | None = None
        self.client_certificate_seen = False
        self.client_sent_certificate = False
        self.peer_verified = False

    def on_message(self, message: Message, now: float) -> None:
        conn = self.connection
        t, body, neg = message.msg_type, message.body, conn._neg
        if conn.state is State.WAIT_HELLO:
            # Before a ClientHello is accepted the server holds no state, and nothing it
            # receives is authenticated: junk is dropped rather than allowed to kill the
            # connection the real client is about to make.
            try:
                if t != HandshakeType.CLIENT_HELLO:
                    raise UnexpectedMessage(f"expected ClientHello, got message {t}")
                hello = ClientHello.parse(body)
            except DtlsError as exc:
                logger.debug("dropping before ClientHello: %s", exc)
                conn.stats.malformed += 1
                conn._reassembler.reset(0)
                return
            if DTLS_1_3 in conn.config.versions and _offers_13(hello):
                conn._start_server13(hello, message, now)
                return
            if conn.config.cookie_exchange and not self.cookies.verify(
                hello, conn.remote_address, now
            ):
                self._send_hello_verify_request(hello, message.message_seq, now)
                return
            conn._send_seq = message.message_seq
            conn._record_received(message)
            self._on_client_hello(hello, now)
            return
        if conn.state is State.WAIT_FLIGHT:
            if (
                t == HandshakeType.CERTIFICATE
                and neg.certificate_requested
                and not self.client_certificate_seen
                and not neg.master_secret
            ):
                self.client_certificate_seen = True
                conn._record_received(message)
                conn._check_certificate(body)
                self.client_sent_certificate = neg.peer_key is not None
                return
            if t == HandshakeType.CLIENT_KEY_EXCHANGE and not neg.master_secret:
                if neg.certificate_requested and not self.client_certificate_seen:
                    raise UnexpectedMessage("client skipped the requested Certificate")
                cke = ClientKeyExchange.parse(body)
                conn._record_received(message)
                assert self.key_share is not None
                conn._derive_keys(self.key_share.exchange(cke.public_key))
                return
            if (
                t == HandshakeType.CERTIFICATE_VERIFY
                and neg.master_secret
                and self.client_sent_certificate
                and not self.peer_verified
            ):
                cv = CertificateVerify.parse(body)
                if cv.signature_scheme not in SUPPORTED_SCHEMES:
                    raise IllegalParameter("client used a signature scheme we did not offer")
                verify_signature(
                    conn._peer_key(), cv.signature_scheme, b"".join(conn._transcript), cv.signature
                )
                self.peer_verified = True
                conn._record_received(message)
                return
            if (
                t == HandshakeType.FINISHED
                and neg.master_secret
                and (self.peer_verified or not self.client_sent_certificate)
            ):
                expected = conn._finished(b"client finished")
                if not hmac.compare_digest(Finished.parse(body).verify_data, expected):
                    raise DecryptError("client Finished does not verify")
                conn._record_received(message)
                finished = conn._handshake(
                    HandshakeType.FINISHED, conn._finished(b"server finished"), epoch=1
                )
                conn._write_epoch = 1
                conn._send_flight([CHANGE_CIPHER_SPEC, finished], None)
                conn._complete()
                return
        raise UnexpectedMessage(f"unexpected handshake message {t} in state {conn.state.value}")

    def _send_hello_verify_request(self, hello: ClientHello, message_seq: int, now: float) -> None:
        conn = self.connection
        if hello.client_version > DTLS_1_2:
            raise ProtocolVersionError(f"client version {hello.client_version:#x}")
        cookie = self.cookies.make(hello, conn.remote_address, now)
        body = bytes(HelloVerifyRequest(DTLS_1_0, cookie))
        # RFC 6347 §4.2.1: reuse the ClientHello's record sequence number; keep no state.
        record_seq = conn._record_seq
        message = encode_message(HandshakeType.HELLO_VERIFY_REQUEST, message_seq, body)
        conn._emit(header(ContentType.HANDSHAKE, DTLS_1_0, 0, record_seq, len(message)) + message)
        conn._write_seq[0] = max(conn._write_seq[0], record_seq + 1)
        conn._reassembler.reset(0)

    def _on_client_hello(self, hello: ClientHello, now: float) -> None:
        conn = self.connection
        cfg, neg = conn.config, conn._neg
        # DTLS versions count down: 0xFEFD (1.2) is newer than 0xFEFF (1.0).
        if hello.client_version > DTLS_1_2:
            raise ProtocolVersionError(f"client offers only version {hello.client_version:#x}")
        if 0 not in hello.compression_methods:
            raise IllegalParameter("client does not offer null compression")
        exts = hello.extensions
        cert = cfg.certificate
        suite_id = next(
            (
                s
                for s in cfg.cipher_suites
                if s in hello.cipher_suites and s in SUITES and SUITES[s].signature == cert.key_type
            ),
            None,
        )
        if suite_id is None:
            raise HandshakeFailure("no cipher suite in common")
        neg.suite = SUITES[suite_id]
        groups_data = find(exts, ExtensionType.SUPPORTED_GROUPS)
        offered_groups: tuple[int, ...] = (
            SupportedGroups.parse(groups_data).groups
            if groups_data is not None
            else (NamedGroup.SECP256R1,)
        )
        group = next((g for g in cfg.groups if g in offered_groups), None)
        if group is None:
            raise HandshakeFailure("no ECDHE group in common")
        formats_data = find(exts, ExtensionType.EC_POINT_FORMATS)
        if formats_data is not None and 0 not in EcPointFormats.parse(formats_data).formats:
            raise IllegalParameter("client does not accept uncompressed points")
        sigalgs = find(exts, ExtensionType.SIGNATURE_ALGORITHMS)
        # RFC 5246 §7.4.1.4.1: without the extension, SHA-1 is implied; we take SHA-256.
        offered_schemes = (
            SignatureAlgorithms.parse(sigalgs).schemes if sigalgs is not None else cert.schemes[:1]
        )
        scheme = cert.choose_scheme(offered_schemes)
        if scheme is None:
            raise HandshakeFailure("no signature scheme in common")
        reply: list[Extension] = []
        ri = find(exts, ExtensionType.RENEGOTIATION_INFO)
        if ri is not None and renegotiated(ri):
            raise HandshakeFailure("non-empty renegotiation_info in an initial handshake")
        if ri is not None or TLS_EMPTY_RENEGOTIATION_INFO_SCSV in hello.cipher_suites:
            neg.secure_renegotiation = True
            reply.append(_REPLY_RENEGOTIATION_INFO)
        ems = find(exts, ExtensionType.EXTENDED_MASTER_SECRET)
        if ems is not None:
            if ems:
                raise DecodeError("extended_master_secret with a body")
            neg.extended_master_secret = True
            reply.append(_REPLY_EMS)
        elif cfg.require_extended_master_secret:
            raise HandshakeFailure("client does not support extended_master_secret")
        srtp = find(exts, ExtensionType.USE_SRTP)
        if srtp is not None:
            offered = UseSrtp.parse(srtp).profiles
            profile = next((p for p in cfg.srtp_profiles if p in offered), None)
            if profile is not None:
                neg.srtp_profile = SrtpProfile(profile)
                reply.append(_use_srtp_reply(profile))
        if formats_data is not None:
            reply.append(_REPLY_POINT_FORMATS)
        neg.client_random = hello.random
        neg.server_random = os.urandom(RANDOM_SIZE)
        if DTLS_1_3 in cfg.versions:
            # RFC 8446 §4.1.3: a 1.3 server answering 1.2 says so, for a 1.3 client to notice
            # that someone removed its offer.
            neg.server_random = neg.server_random[:-8] + DOWNGRADE_TLS12
        if DTLS_1_2 not in cfg.versions:
            raise ProtocolVersionError("client does not offer DTLS 1.3")
        neg.group = group
        self.key_share = KeyShare(group)
        server_hello = ServerHello(DTLS_1_2, neg.server_random, b"", suite_id, 0, tuple(reply))
        params = ServerKeyExchange(group, self.key_share.public_key, scheme, b"")
        signature = cert.sign(scheme, neg.client_random + neg.server_random + params.params)
        ske = ServerKeyExchange(group, self.key_share.public_key, scheme, signature)
        messages = [
            conn._handshake(HandshakeType.SERVER_HELLO, bytes(server_hello)),
            conn._handshake(HandshakeType.CERTIFICATE, certificate_body(cert.der)),
            conn._handshake(HandshakeType.SERVER_KEY_EXCHANGE, bytes(ske)),
        ]
        if cfg.require_client_certificate:
            neg.certificate_requested = True
            messages.append(conn._handshake(HandshakeType.CERTIFICATE_REQUEST, _REQUEST_BODY))
        messages.append(conn._handshake(HandshakeType.SERVER_HELLO_DONE, b""))
        conn.state = State.WAIT_FLIGHT
        conn._send_flight(messages, now)
