"""The DTLS 1.2 connection state machine, client and server (RFC 6347, RFC 5246 §7.3).

This module holds what both sides share: the record layer (epochs, protection, replay, alerts),
flights and their retransmission (RFC 6347 §4.2.4), the handshake transcript, key derivation,
certificate checks and the public events. The handshake messages each side sends and accepts
are in :mod:`pywebrtc.dtls.client` and :mod:`pywebrtc.dtls.server`; a connection drives one of
them.

Sans-IO: feed datagrams with ``receive(data, now)`` and timer expiry with ``tick(now)``;
drain ``poll()`` until it returns None (it yields ``Transmit`` datagrams and events); sleep
until ``deadline()``. Nothing here reads a clock or touches a socket.

Handshake as WebRTC uses it (RFC 8827 §6.5, RFC 5763): full ECDHE handshake with mutual
certificate authentication, the peer's certificate checked against signaling fingerprints,
optional stateless cookie exchange on the server, use_srtp negotiation and the RFC 5705
exporter. Left out: session resumption, renegotiation (answered with a no_renegotiation
warning), PSK, RSA key transport, non-AEAD suites, DTLS 1.0. DTLS 1.3 (``config.versions``)
is :mod:`pywebrtc.dtls.dtls13`: the server hands it a ClientHello that offers 1.3; the client
offers both and, until the server's first message shows its choice, keeps what arrives, then
gives it to the 1.2 or the 1.3 machine.

Error policy: a record that fails to parse, authenticate or pass the replay window is dropped
and counted in ``stats``; a malformed or illegal handshake message is fatal: we send the alert
its ``DtlsError`` names and emit ``ConnectionClosed(error)``.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from dataclasses import dataclass, field

from pywebrtc.dtls import prf
from pywebrtc.dtls.alert import Alert, AlertDescription, AlertLevel, describe
from pywebrtc.dtls.certificate import Certificate, Fingerprint, PublicKey, load_peer_key
from pywebrtc.dtls.cipher import DEFAULT_SUITES, CipherSuite, RecordProtection
from pywebrtc.dtls.client import ClientHandshake
from pywebrtc.dtls.cookie import CookieVerifier
from pywebrtc.dtls.dtls13 import Dtls13
from pywebrtc.dtls.errors import (
    BadRecordMac,
    DecodeError,
    DtlsError,
    FingerprintMismatch,
    HandshakeFailure,
    HandshakeTimeout,
    PeerAlert,
    UnexpectedMessage,
)
from pywebrtc.dtls.events import ApplicationData, ConnectionClosed, Event, HandshakeComplete
from pywebrtc.dtls.extensions import ExtensionType, SrtpProfile, find
from pywebrtc.dtls.flight import (
    INITIAL_TIMEOUT,
    MAX_RETRANSMISSIONS,
    MAX_TIMEOUT,
    Flight,
    FlightMessage,
    RetransmitTimer,
)
from pywebrtc.dtls.handshake import (
    CertificateMessage,
    ClientHello,
    HandshakeType,
    ServerHello,
    encode_message,
    split_fragments,
)
from pywebrtc.dtls.keyexchange import SUPPORTED_GROUPS, TLS13_GROUPS
from pywebrtc.dtls.messages13 import DTLS_1_3, server_supported_version
from pywebrtc.dtls.reassembly import Message, Reassembler
from pywebrtc.dtls.record import (
    DTLS_1_2,
    HEADER_SIZE,
    MAX_FRAGMENT,
    ContentType,
    Record,
    header,
    parse_datagram,
)
from pywebrtc.dtls.record13 import DEFAULT_SUITES13
from pywebrtc.dtls.replay import ReplayWindow
from pywebrtc.dtls.server import ServerHandshake
from pywebrtc.dtls.state import State
from pywebrtc.transmit import Transmit

logger = logging.getLogger(__name__)

DEFAULT_MTU = 1200
DEFAULT_SRTP_PROFILES: tuple[SrtpProfile, ...] = (
    SrtpProfile.SRTP_AEAD_AES_128_GCM,
    SrtpProfile.SRTP_AEAD_AES_256_GCM,
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80,
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32,
)
SRTP_EXPORTER_LABEL = "EXTRACTOR-dtls_srtp"  # RFC 5764 §4.2
MAX_PLAINTEXT = 2**14  # RFC 5246 §6.2.1
_RECORD_HEADER = struct.Struct("!BHQH")  # record.py's header with epoch‖sequence as one field
_MAX_DEFERRED = 16
_TRANSCRIPT_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}


@dataclass(frozen=True, slots=True)
class DtlsConfig:
    """Everything negotiable. Timers are in seconds; ``initial_timeout`` is RFC 6347's 1 s by
    default, WebRTC stacks often use less (e.g. 0.1-0.4 s) on low-latency paths."""

    certificate: Certificate
    cipher_suites: tuple[int, ...] = DEFAULT_SUITES
    groups: tuple[int, ...] = SUPPORTED_GROUPS
    srtp_profiles: tuple[int, ...] = DEFAULT_SRTP_PROFILES
    remote_fingerprints: tuple[Fingerprint, ...] = ()
    mtu: int = DEFAULT_MTU
    initial_timeout: float = INITIAL_TIMEOUT
    max_timeout: float = MAX_TIMEOUT
    max_retransmissions: int = MAX_RETRANSMISSIONS
    cookie_exchange: bool = True
    cookie_verifier: CookieVerifier | None = None
    # Server: send a CertificateRequest and insist on a certificate (WebRTC always does).
    require_client_certificate: bool = True
    require_extended_master_secret: bool = False
    # DTLS versions we speak, preferred first: (DTLS_1_2,) or (DTLS_1_3, DTLS_1_2) or
    # (DTLS_1_3,). 1.2 alone here; SettingEngine (so RTCPeerConnection) prefers 1.3.
    versions: tuple[int, ...] = (DTLS_1_2,)
    tls13_groups: tuple[int, ...] = TLS13_GROUPS  # key_share groups, preferred first
    tls13_suites: tuple[int, ...] = DEFAULT_SUITES13


@dataclass(frozen=True, slots=True)
class SrtpKeys:
    """Keying material split per RFC 5764 §4.2, from this endpoint's point of view. The
    secrets stay out of ``repr`` so that no log line can carry them."""

    profile: SrtpProfile
    local_key: bytes = field(repr=False)
    local_salt: bytes = field(repr=False)
    remote_key: bytes = field(repr=False)
    remote_salt: bytes = field(repr=False)


@dataclass(slots=True)
class DtlsStats:
    records_received: int = 0
    records_sent: int = 0
    malformed: int = 0
    bad_mac: int = 0
    replayed: int = 0
    unexpected_epoch: int = 0
    retransmissions: int = 0


@dataclass(slots=True)
class _Negotiated:
    suite: CipherSuite | None = None
    group: int | None = None
    srtp_profile: SrtpProfile | None = None
    extended_master_secret: bool = False
    secure_renegotiation: bool = False
    client_random: bytes = b""
    server_random: bytes = b""
    master_secret: bytes = b""
    peer_key: PublicKey | None = None
    peer_certificate: bytes | None = None
    certificate_requested: bool = False
    request_schemes: tuple[int, ...] = ()
    offered_extensions: frozenset[int] = field(default_factory=frozenset)


class DtlsConnection:
    """One DTLS association with one peer.

    ``remote_address`` is any stable bytes naming the peer's transport address; the server
    binds its cookies to it.
    """

    # Slots, not a __dict__: one per peer connection; a dict this size costs ~1.6 KiB.
    __slots__ = (
        "_deferred",
        "_early_data",
        "_flight",
        "_hashed",
        "_last_echo",
        "_neg",
        "_out",
        "_peer_retransmitted",
        "_pending",
        "_read_prot",
        "_reassembler",
        "_record_seq",
        "_replay",
        "_send_seq",
        "_side",
        "_timer",
        "_transcript",
        "_transcript_hasher",
        "_v13",
        "_write_epoch",
        "_write_prot",
        "_write_seq",
        "config",
        "is_client",
        "peer_fingerprint",
        "remote_address",
        "remote_fingerprints",
        "state",
        "stats",
    )

    def __init__(self, config: DtlsConfig, *, is_client: bool, remote_address: bytes = b"") -> None:
        self.config = config
        self.is_client = is_client
        self.remote_address = remote_address
        self.remote_fingerprints: tuple[Fingerprint, ...] = config.remote_fingerprints
        self.state = State.IDLE if is_client else State.WAIT_HELLO
        self.stats = DtlsStats()
        self._out: list[Transmit | Event] = []  # (a deque costs 760 bytes empty)
        self._timer = RetransmitTimer(
            config.initial_timeout, config.max_timeout, config.max_retransmissions
        )
        self._flight: Flight | None = None
        self._reassembler = Reassembler()
        self._send_seq = 0
        self._transcript: list[bytes] = []
        # Running hash of ``_transcript[:_hashed]``, started once the suite (and so the PRF
        # hash) is known: each message is hashed once, not once per Finished/EMS computation.
        self._transcript_hasher: hashlib._Hash | None = None
        self._hashed = 0
        self._write_epoch = 0
        self._write_seq: dict[int, int] = {0: 0}
        self._write_prot: dict[int, RecordProtection] = {}
        self._read_prot: dict[int, RecordProtection] = {}
        self._replay: dict[int, ReplayWindow] = {}
        self._deferred: list[Record] = []
        self._early_data: list[bytes] = []
        self._neg = _Negotiated()
        # The handshake messages of our side (dtls/client.py or dtls/server.py); dropped once
        # the handshake completes or the connection ends (it refers back to us: no cycle is
        # left for the cyclic collector).
        self._side: ClientHandshake | ServerHandshake | None = (
            ClientHandshake(self) if is_client else ServerHandshake(self)
        )
        self._peer_retransmitted = False
        self._last_echo = -1e9
        self._record_seq = 0
        self.peer_fingerprint: Fingerprint | None = None
        # DTLS 1.3 (dtls/dtls13.py): the client's is made with its ClientHello and takes over
        # if the server picks 1.3; the server's when a ClientHello offers it.
        self._v13: Dtls13 | None = None
        self._pending: list[bytes] = []

    # ------------------------------------------------------------------ public API

    def connect(self, now: float) -> None:
        """Start the handshake (client only): queue the ClientHello and arm the timer."""
        side = self._side
        if not isinstance(side, ClientHandshake) or self.state is not State.IDLE:
            raise RuntimeError("connect() is for a fresh client connection")
        side.start(now)

    def receive(self, data: bytes, now: float) -> None:
        """Process one datagram from the peer."""
        if self._v13 is not None:
            self._receive13(self._v13, data, now)
            return
        if (
            self.state is State.CONNECTED
            and len(data) > HEADER_SIZE
            and data[0] == ContentType.APPLICATION_DATA
            and len(data) - HEADER_SIZE <= MAX_FRAGMENT
            and not self._deferred
        ):
            # The bulk case: one application-data record under current keys, no Record object.
            _, version, seq64, length = _RECORD_HEADER.unpack_from(data)
            protection = self._read_prot.get(seq64 >> 48)
            fits = length == len(data) - HEADER_SIZE
            if fits and version >> 8 == 0xFE and protection is not None:
                self._on_application_record(protection, version, seq64, data)
                return
        if self.state in (State.CLOSED, State.FAILED):
            return
        records, malformed = parse_datagram(data)
        if malformed:
            self.stats.malformed += 1
        self._peer_retransmitted = False
        try:
            for record in records:
                self._on_record(record, now)
                if self._record_ended_reading():
                    return
            self._drain_deferred(now)
        except DtlsError as exc:
            self._fail(exc)
            return
        if (
            self._peer_retransmitted
            and self._flight is not None
            and now - self._last_echo >= self.config.initial_timeout / 4
        ):
            # RFC 6347 §4.2.4: the peer retransmitted its previous flight, so ours was lost.
            # Held off briefly so that duplicated datagrams cannot start a retransmit storm.
            self._last_echo = now
            self.stats.retransmissions += 1
            self._transmit_flight()

    def _record_ended_reading(self) -> bool:
        """After a record: the connection closed or failed, or a DTLS 1.3 ClientHello started
        the 1.3 machine, which answered it. A method, not tests inline in ``receive``: there
        mypy keeps ``state`` and ``_v13`` narrowed across ``_on_record``, and mypyc compiles
        those tests as mypy reads them (into a TypeError)."""
        return self.state in (State.CLOSED, State.FAILED) or self._v13 is not None

    def _receive13(self, v13: Dtls13, data: bytes, now: float) -> None:
        if v13.active:
            if self.state not in (State.CLOSED, State.FAILED):
                v13.receive(data, now)
            return
        # A client that offered 1.3 and 1.2: keep what arrives until the server's first
        # message says which it chose, then hand all of it to that version's machine.
        if self.state in (State.CLOSED, State.FAILED):
            return
        if len(self._pending) < _MAX_DEFERRED:
            self._pending.append(data)
        choice = self._server_choice()
        if choice is None:
            return
        pending, self._pending = self._pending, []
        if choice == DTLS_1_3:
            hello = self._side.hello if isinstance(self._side, ClientHandshake) else None
            assert hello is not None
            v13.begin_client(hello, self._send_seq, now)
            for datagram in pending:
                self.receive(datagram, now)
            return
        self._v13 = None
        for datagram in pending:
            self.receive(datagram, now)

    def _server_choice(self) -> int | None:
        """The version the server's first message picks (None: not all of it is here)."""
        peek = Reassembler()
        for datagram in self._pending:
            records, _ = parse_datagram(datagram)
            for record in records:
                if record.epoch or record.content_type != ContentType.HANDSHAKE:
                    continue
                try:
                    for fields in split_fragments(record.fragment):
                        peek.add_fields(*fields)
                except DtlsError:
                    return DTLS_1_2  # the 1.2 machine reports it
                message = peek.pop()
                if message is None:
                    continue
                if message.msg_type != HandshakeType.SERVER_HELLO:
                    return DTLS_1_2
                try:
                    hello = ServerHello.parse(message.body)
                    version = find(hello.extensions, ExtensionType.SUPPORTED_VERSIONS)
                    chosen = server_supported_version(version) if version is not None else 0
                except DtlsError:
                    return DTLS_1_2
                return DTLS_1_3 if chosen == DTLS_1_3 else DTLS_1_2
        return None

    def _start_server13(self, hello: ClientHello, message: Message, now: float) -> None:
        """The ClientHello offers DTLS 1.3 and so do we: the 1.3 machine answers it."""
        v13 = self._v13 = Dtls13(self)
        v13.active = True
        v13.start_server(hello, message, now)

    @property
    def version(self) -> int | None:
        """The negotiated version (0xFEFD or 0xFEFC), None before the ServerHello."""
        if self._v13 is not None and self._v13.suite is not None:
            return DTLS_1_3
        return DTLS_1_2 if self._neg.suite is not None else None

    @property
    def cipher_suite_name(self) -> str | None:
        if self._v13 is not None and self._v13.suite is not None:
            return self._v13.suite.name
        return None if self._neg.suite is None else self._neg.suite.name

    def tick(self, now: float) -> None:
        """Handle timer expiry: retransmit the current flight or give up."""
        if self._v13 is not None and self._v13.active:
            if self.state not in (State.CLOSED, State.FAILED):
                self._v13.tick(now)
            return
        deadline = self._timer.deadline
        if deadline is None or now < deadline or self._flight is None:
            return
        if self._timer.fire(now):
            logger.debug("retransmitting flight (attempt %d)", self._timer.attempts)
            self.stats.retransmissions += 1
            self._transmit_flight()
        else:
            self._fail(HandshakeTimeout("peer stopped answering"), send_alert=False)

    def poll(self) -> Transmit | Event | None:
        return self._out.pop(0) if self._out else None

    def deadline(self) -> float | None:
        return self._timer.deadline

    def send(self, data: bytes) -> None:
        """Queue application data (one record, at most 2^14 bytes)."""
        if self.state is not State.CONNECTED:
            raise RuntimeError(f"cannot send application data in state {self.state.value}")
        if len(data) > MAX_PLAINTEXT:
            raise ValueError(f"application data of {len(data)} bytes exceeds one record")
        if self._v13 is not None and self._v13.active:
            self._v13.send(data)
            return
        self._emit(self._seal(self._write_epoch, ContentType.APPLICATION_DATA, data))

    def update_keys(self, now: float, request_peer: bool = False) -> None:
        """DTLS 1.3 only: send a KeyUpdate; our new sending keys start once the peer ACKs it
        (RFC 9147 §8). ``request_peer`` asks the peer to update its own."""
        if self._v13 is None or not self._v13.active or self.state is not State.CONNECTED:
            raise RuntimeError("KeyUpdate needs a connected DTLS 1.3 association")
        self._v13.update_keys(now, request_peer)

    def close(self) -> None:
        """Send close_notify and end the connection. Its handshake machines let go of it: a
        closed connection is freed by reference counting, without the cyclic collector."""
        if self.state not in (State.CLOSED, State.FAILED):
            self._close_notify()
        self._side = None
        if self._v13 is not None:
            self._v13.detach()

    @property
    def is_connected(self) -> bool:
        return self.state is State.CONNECTED

    @property
    def cipher_suite(self) -> CipherSuite | None:
        return self._neg.suite

    @property
    def srtp_profile(self) -> SrtpProfile | None:
        return self._neg.srtp_profile

    @property
    def peer_certificate(self) -> bytes | None:
        """The peer's leaf certificate (DER)."""
        return self._neg.peer_certificate

    def export_keying_material(self, label: str, length: int) -> bytes:
        """RFC 5705 exporter (no context), available once connected; RFC 8446 §7.5's for
        DTLS 1.3."""
        if self._v13 is not None and self._v13.exporter_ready:
            if self.state is not State.CONNECTED:
                raise RuntimeError("keying material is only available once connected")
            return self._v13.export_keying_material(label, length)
        if self.state is not State.CONNECTED or self._neg.suite is None:
            raise RuntimeError("keying material is only available once connected")
        return prf.export_keying_material(
            self._neg.suite.hash_name,
            self._neg.master_secret,
            self._neg.client_random,
            self._neg.server_random,
            label,
            length,
        )

    def srtp_keys(self) -> SrtpKeys:
        """SRTP master keys and salts for the negotiated profile (RFC 5764 §4.2)."""
        profile = self._neg.srtp_profile
        if profile is None:
            raise RuntimeError("no SRTP profile was negotiated")
        k, s = profile.key_length, profile.salt_length
        material = self.export_keying_material(SRTP_EXPORTER_LABEL, 2 * (k + s))
        client_key, server_key = material[:k], material[k : 2 * k]
        client_salt, server_salt = material[2 * k : 2 * k + s], material[2 * k + s :]
        if self.is_client:
            return SrtpKeys(profile, client_key, client_salt, server_key, server_salt)
        return SrtpKeys(profile, server_key, server_salt, client_key, client_salt)

    # ------------------------------------------------------------------ record layer

    def _overhead(self, epoch: int) -> int:
        if epoch == 0 or self._neg.suite is None:
            return 0
        return self._neg.suite.record_overhead

    def _seal(self, epoch: int, content_type: int, payload: bytes) -> bytes:
        seq = self._write_seq[epoch]
        self._write_seq[epoch] = seq + 1
        self.stats.records_sent += 1
        if epoch:
            return self._write_prot[epoch].seal_record(content_type, DTLS_1_2, epoch, seq, payload)
        return header(content_type, DTLS_1_2, epoch, seq, len(payload)) + payload

    def _emit(self, datagram: bytes) -> None:
        self._out.append(Transmit(datagram))

    def _on_record(self, record: Record, now: float) -> None:
        self.stats.records_received += 1
        epoch, seq, ctype = record.epoch, record.sequence_number, record.content_type
        if epoch == 0:
            if ctype == ContentType.APPLICATION_DATA or (
                ctype == ContentType.ALERT and self.state is State.CONNECTED
            ):
                # Unprotected data is never accepted, nor unauthenticated alerts once connected.
                self.stats.unexpected_epoch += 1
                return
            # No replay window in epoch 0: its sequence numbers are unauthenticated, so one
            # forged huge number would shut out every genuine retransmission; the handshake
            # layer discards duplicates by message_seq instead.
            window = None
            plaintext = record.fragment
        else:
            protection = self._read_prot.get(epoch)
            if protection is None:
                if epoch == len(self._read_prot) + 1 and len(self._deferred) < _MAX_DEFERRED:
                    self._deferred.append(record)  # keys not derived yet: keep for later
                else:
                    self.stats.unexpected_epoch += 1
                return
            window = self._replay[epoch]
            if not window.check(seq):
                self.stats.replayed += 1
                return
            try:
                plaintext = protection.open(ctype, record.version, epoch, seq, record.fragment)
            except BadRecordMac:
                self.stats.bad_mac += 1
                return
        if len(plaintext) > MAX_PLAINTEXT:
            self.stats.malformed += 1
            return
        if window is not None:
            window.accept(seq)
        self._record_seq = seq
        if ctype == ContentType.HANDSHAKE:
            self._on_handshake_record(plaintext, epoch, now)
        elif ctype == ContentType.CHANGE_CIPHER_SPEC:
            if plaintext != b"\x01":
                raise DecodeError("malformed ChangeCipherSpec")
            # Keys are selected by record epoch, so CCS carries no information we need.
        elif ctype == ContentType.ALERT:
            self._on_alert(Alert.parse(plaintext))
        elif ctype == ContentType.APPLICATION_DATA:
            if self.state is State.CONNECTED:
                self._out.append(ApplicationData(plaintext))
            elif len(self._early_data) < _MAX_DEFERRED:
                # Authenticated under the new keys but overtook the peer's Finished: keep it.
                self._early_data.append(plaintext)
            else:
                self.stats.unexpected_epoch += 1
        else:
            self.stats.malformed += 1

    def _on_application_record(
        self, protection: RecordProtection, version: int, seq64: int, data: bytes
    ) -> None:
        """``_on_record`` for a datagram holding exactly one protected application-data record."""
        self.stats.records_received += 1
        epoch, seq = seq64 >> 48, seq64 & 0xFFFFFFFFFFFF
        window = self._replay[epoch]
        if not window.check(seq):
            self.stats.replayed += 1
            return
        try:
            plaintext = protection.open(
                ContentType.APPLICATION_DATA, version, epoch, seq, memoryview(data)[HEADER_SIZE:]
            )
        except BadRecordMac:
            self.stats.bad_mac += 1
            return
        if len(plaintext) > MAX_PLAINTEXT:
            self.stats.malformed += 1
            return
        window.accept(seq)
        self._record_seq = seq
        self._out.append(ApplicationData(plaintext))

    def _drain_deferred(self, now: float) -> None:
        while self._deferred and self._deferred[0].epoch in self._read_prot:
            self._on_record(self._deferred.pop(0), now)
            if self.state in (State.CLOSED, State.FAILED):
                return

    def _close_notify(self) -> None:
        """End the connection cleanly: close_notify if it was up (ours, or the answer to the
        peer's), then closed."""
        if self.state is State.CONNECTED:
            self._send_alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)
        self.state = State.CLOSED
        self._timer.stop()
        self._flight = None
        self._out.append(ConnectionClosed(None))

    def _on_alert(self, alert: Alert) -> None:
        if alert.description == AlertDescription.CLOSE_NOTIFY:
            logger.debug("peer sent close_notify")
            self._close_notify()
        elif alert.level == AlertLevel.FATAL:
            name = describe(alert.description)
            self._fail(PeerAlert(alert.description, f"peer sent fatal alert {name}"), False)
        else:
            logger.debug("ignoring warning alert %s", describe(alert.description))

    def _send_alert(self, level: int, description: int) -> None:
        if self._v13 is not None and self._v13.active:
            self._v13.send_alert(level, description)
            return
        epoch = self._write_epoch
        self._emit(self._seal(epoch, ContentType.ALERT, bytes(Alert(level, description))))

    def _fail(self, error: DtlsError, send_alert: bool = True) -> None:
        logger.info("DTLS connection failed: %s", error)
        if send_alert and not isinstance(error, PeerAlert):
            self._send_alert(AlertLevel.FATAL, error.alert_description)
        self.state = State.FAILED
        self._timer.stop()
        self._flight = None
        self._out.append(ConnectionClosed(error))

    # ------------------------------------------------------------------ flights

    def _handshake(self, msg_type: int, body: bytes, epoch: int = 0) -> FlightMessage:
        data = encode_message(msg_type, self._send_seq, body)
        self._send_seq += 1
        self._transcript.append(data)
        return FlightMessage(epoch, ContentType.HANDSHAKE, data)

    def _send_flight(self, messages: list[FlightMessage], now: float | None) -> None:
        self._flight = Flight(messages)
        self._transmit_flight()
        if now is None:
            self._timer.stop()  # our last flight: resent only when the peer asks again
        else:
            self._timer.start(now)

    def _transmit_flight(self) -> None:
        assert self._flight is not None
        for datagram in self._flight.datagrams(self.config.mtu, self._seal, self._overhead):
            self._emit(datagram)

    def _transcript_hash(self) -> bytes:
        hasher = self._transcript_hasher
        if hasher is None:
            assert self._neg.suite is not None
            hasher = self._transcript_hasher = _TRANSCRIPT_HASHES[self._neg.suite.hash_name]()
            self._hashed = 0
        transcript = self._transcript
        for i in range(self._hashed, len(transcript)):
            hasher.update(transcript[i])
        self._hashed = len(transcript)
        return hasher.copy().digest()

    # ------------------------------------------------------------------ handshake

    def _on_handshake_record(self, data: bytes, epoch: int, now: float) -> None:
        try:
            fragments = split_fragments(data)
        except DecodeError:
            self.stats.malformed += 1
            return
        reassembler = self._reassembler
        for msg_type, length, seq, offset, body in fragments:
            if not reassembler.add_fields(msg_type, length, seq, offset, body, epoch):
                self._peer_retransmitted = True
            # Messages are handled as they complete, so that several in one record take the
            # reassembler's whole-message fast path one after the other.
            while True:
                if not self.is_client and self.state is State.WAIT_HELLO:
                    message = reassembler.pop_any()
                else:
                    message = reassembler.pop()
                if message is None:
                    break
                self._on_message(message, now)
                if self.state in (State.CLOSED, State.FAILED):
                    return

    def _on_message(self, message: Message, now: float) -> None:
        t = message.msg_type
        if self.state is State.CONNECTED:
            if t in (HandshakeType.HELLO_REQUEST, HandshakeType.CLIENT_HELLO):
                self._send_alert(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
                return
            raise UnexpectedMessage(f"handshake message {t} after the handshake")
        if (t == HandshakeType.FINISHED) != (message.epoch > 0):
            raise UnexpectedMessage("Finished must be, and only Finished may be, encrypted")
        side = self._side
        if side is None:  # the handshake is over (the states above say so first)
            raise UnexpectedMessage(f"handshake message {t} after the handshake")
        side.on_message(message, now)

    def _record_received(self, message: Message) -> None:
        self._transcript.append(encode_message(message.msg_type, message.message_seq, message.body))

    def _check_certificate(self, body: bytes) -> None:
        chain = CertificateMessage.parse(body).certificates
        if not chain:
            if self.is_client or self.config.require_client_certificate:
                raise HandshakeFailure("peer sent no certificate")
            return
        self._check_chain(chain)

    def _check_chain(self, chain: tuple[bytes, ...]) -> None:
        """The peer's leaf certificate against the signalled fingerprints; keep its key."""
        leaf = chain[0]
        key = load_peer_key(leaf)
        sha256 = Fingerprint.of(leaf)
        expected = self.remote_fingerprints
        if expected and not any(
            fp == sha256 if fp.algorithm == "sha-256" else fp.matches(leaf) for fp in expected
        ):
            raise FingerprintMismatch("peer certificate does not match the expected fingerprint")
        self._neg.peer_key = key
        self._neg.peer_certificate = leaf
        # The signalled one when it is the same: one copy kept, not two (memory per session).
        self.peer_fingerprint = next((fp for fp in expected if fp == sha256), sha256)

    def _derive_keys(self, pre_master: bytes) -> None:
        neg = self._neg
        suite = neg.suite
        assert suite is not None
        if neg.extended_master_secret:
            neg.master_secret = prf.extended_master_secret(
                suite.hash_name, pre_master, self._transcript_hash()
            )
        else:
            neg.master_secret = prf.master_secret(
                suite.hash_name, pre_master, neg.client_random, neg.server_random
            )
        k, iv = suite.key_length, suite.fixed_iv_length
        block = prf.key_block(
            suite.hash_name, neg.master_secret, neg.client_random, neg.server_random, 2 * (k + iv)
        )
        client = RecordProtection(suite, block[:k], block[2 * k : 2 * k + iv])
        server = RecordProtection(suite, block[k : 2 * k], block[2 * k + iv :])
        self._write_prot[1], self._read_prot[1] = (
            (client, server) if self.is_client else (server, client)
        )
        self._write_seq[1] = 0
        self._replay[1] = ReplayWindow()

    def _finished(self, label: bytes) -> bytes:
        assert self._neg.suite is not None
        return prf.verify_data(
            self._neg.suite.hash_name, self._neg.master_secret, label, self._transcript_hash()
        )

    def _complete(self) -> None:
        self.state = State.CONNECTED
        suite = self._neg.suite
        assert suite is not None
        logger.debug("handshake complete: %s", suite.name)
        self._out.append(
            HandshakeComplete(
                suite.name,
                self._neg.srtp_profile,
                self.peer_fingerprint,
                self._neg.extended_master_secret,
            )
        )
        self._out.extend(ApplicationData(data) for data in self._early_data)
        self._early_data.clear()
        # The handshake's working state is done with (memory per idle connection, ~2.4 KiB):
        # the transcript and its hash, the ECDHE key share, our ClientHello and the set of
        # extensions it offered, the peer's public key (a native OpenSSL key) and ECDHE share.
        # What stays: the record keys, the master secret (RFC 5705 exporter), our last flight
        # (resent if the peer retransmits its own) and the peer's certificate.
        self._transcript.clear()
        self._transcript_hasher = None
        self._side = None
        neg = self._neg
        neg.offered_extensions = frozenset()
        neg.peer_key = None
        neg.request_schemes = ()  # the server's CertificateRequest: our CertificateVerify is out

    def _peer_key(self) -> PublicKey:
        if self._neg.peer_key is None:
            raise UnexpectedMessage("no peer certificate yet")
        return self._neg.peer_key


__all__ = [
    "ApplicationData",
    "ConnectionClosed",
    "DtlsConfig",
    "DtlsConnection",
    "DtlsStats",
    "Event",
    "HandshakeComplete",
    "SrtpKeys",
    "State",
    "Transmit",
]
