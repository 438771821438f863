"""DTLS 1.3 (RFC 9147 over RFC 8446) for one connection, both roles, sans-IO.

A :class:`~pywebrtc.dtls.connection.DtlsConnection` hands itself to :class:`Dtls13` once
1.3 is chosen: the server when a ClientHello offers it in supported_versions (RFC 8446
§4.2.1), the client when the ServerHello or HelloRetryRequest selects it. From then on this
class owns the record layer (:mod:`pywebrtc.dtls.record13`, epochs 0, 2 and 3 with a replay
window each), the handshake and its key schedule (:mod:`pywebrtc.dtls.keyschedule`), and
reliability (RFC 9147 §5.8, §7): flights are retransmitted on the connection's timer and on
evidence of loss (a retransmitted peer flight, or an ACK that leaves gaps); ACKs are sent for
the client's last flight, for records of a partly received flight when our timer fires, and
for post-handshake messages.

Handshake, 1-RTT with mutual authentication as WebRTC uses it:

    ClientHello (key_share) ->
                        <- ServerHello (key_share), {EncryptedExtensions (use_srtp),
                           CertificateRequest, Certificate, CertificateVerify, Finished}
    {Certificate, CertificateVerify, Finished} ->
                        <- [ACK]

A HelloRetryRequest (with a cookie the second ClientHello must echo) is sent when the client
offered no share for a group we accept, or when ``cookie_exchange`` asks for an address check.
Groups: X25519MLKEM768, x25519, P-256 (``DtlsConfig.tls13_groups``). Suites: AES-128-GCM,
AES-256-GCM, ChaCha20-Poly1305. Signatures: ECDSA (P-256, P-384) and RSA-PSS; PKCS#1 v1.5
is refused in CertificateVerify (RFC 8446 §4.4.3). KeyUpdate from the peer is honoured.

Left out: PSK and resumption (a NewSessionTicket is acknowledged and dropped), 0-RTT,
connection IDs, sending KeyUpdate, post-handshake authentication.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from pywebrtc.dtls.ack import CONTENT_TYPE_ACK, Ack
from pywebrtc.dtls.alert import Alert
from pywebrtc.dtls.certificate import ECDSA_SCHEMES, verify_signature
from pywebrtc.dtls.codec import vec16
from pywebrtc.dtls.errors import (
    BadRecordMac,
    DecodeError,
    DecryptError,
    DtlsError,
    HandshakeFailure,
    HandshakeTimeout,
    IllegalParameter,
    UnexpectedMessage,
    UnsupportedExtension,
)
from pywebrtc.dtls.events import ApplicationData, HandshakeComplete
from pywebrtc.dtls.extensions import (
    Extension,
    ExtensionType,
    SignatureAlgorithms,
    SignatureScheme,
    SrtpProfile,
    SupportedGroups,
    UseSrtp,
    find,
)
from pywebrtc.dtls.handshake import (
    HANDSHAKE_HEADER_SIZE,
    RANDOM_SIZE,
    CertificateVerify,
    ClientHello,
    HandshakeType,
    ServerHello,
    fragment_header,
    split_fragments,
)
from pywebrtc.dtls.keyexchange import ClientKeyShare, server_key_share
from pywebrtc.dtls.keyschedule import KeySchedule
from pywebrtc.dtls.messages13 import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    DTLS_1_3,
    HELLO_RETRY_REQUEST_RANDOM,
    Certificate13,
    CertificateRequest13,
    EncryptedExtensions,
    KeyShareEntry,
    certificate_verify_content,
    client_supported_versions,
    encode_client_shares,
    message_hash,
    parse_client_shares,
    parse_cookie,
    parse_key_update,
    parse_selected_group,
    parse_server_share,
    server_supported_version,
    tls_message,
)
from pywebrtc.dtls.reassembly import Message, Reassembler
from pywebrtc.dtls.record import DTLS_1_2, ContentType, header
from pywebrtc.dtls.record13 import (
    RECORD_OVERHEAD,
    SUITES13,
    CipherSuite13,
    RecordProtection13,
    UnifiedHeader,
    parse_datagram13,
    reconstruct_sequence,
)
from pywebrtc.dtls.replay import ReplayWindow
from pywebrtc.dtls.state import State

if TYPE_CHECKING:
    from pywebrtc.dtls.connection import DtlsConnection

logger = logging.getLogger(__name__)

EPOCH_HANDSHAKE = 2  # RFC 9147 §6.1
EPOCH_APPLICATION = 3
_MAX_DEFERRED = 32
_MAX_EARLY = 16
_MAX_EPOCH = 0xFFFF
_PKCS1 = (
    SignatureScheme.RSA_PKCS1_SHA256,
    SignatureScheme.RSA_PKCS1_SHA384,
    SignatureScheme.RSA_PKCS1_SHA512,
)
# RFC 8446 §4.2.3: what a TLS 1.3 CertificateVerify may use here.
TLS13_SCHEMES: tuple[int, ...] = (
    SignatureScheme.ECDSA_SECP256R1_SHA256,
    SignatureScheme.ECDSA_SECP384R1_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA256,
    SignatureScheme.RSA_PSS_RSAE_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA512,
)
_ALERT_CERTIFICATE_REQUIRED = 116  # RFC 8446 §6.2
_COOKIE_SECRET = os.urandom(32)


class Stage(Enum):
    CLIENT_WAIT_SERVER_HELLO = "client-wait-server-hello"
    CLIENT_WAIT_FLIGHT = "client-wait-flight"
    SERVER_WAIT_CLIENT_HELLO2 = "server-wait-client-hello2"
    SERVER_WAIT_FLIGHT = "server-wait-flight"
    DONE = "done"


@dataclass(slots=True)
class _Outgoing:
    """One handshake message of our current flight; ``acked`` holds the offsets of its
    fragments the peer acknowledged (fragment boundaries are the same every time)."""

    epoch: int
    msg_type: int
    message_seq: int
    body: bytes
    acked: set[int] = field(default_factory=set)


class Dtls13:
    """The DTLS 1.3 side of one :class:`DtlsConnection` (see the module docstring)."""

    __slots__ = (
        "_client_hello",
        "_cookie",
        "_deferred",
        "_early",
        "_exporter_secret",
        "_flight",
        "_flight_records",
        "_hrr_sent",
        "_last_echo",
        "_messages",
        "_running",
        "_peer_records",
        "_peer_verified",
        "_seen_encrypted_extensions",
        "_read",
        "_read_next",
        "_reassembler",
        "_replay",
        "_request_schemes",
        "_schedule",
        "_secrets",
        "_send_seq",
        "_share",
        "_write",
        "_write_epoch",
        "_write_seq",
        "active",
        "certificate_requested",
        "conn",
        "group",
        "stage",
        "suite",
    )
    # mypyc: a compiled class may only `del` the attributes named here (detach).
    __deletable__ = ("conn",)

    def __init__(self, conn: DtlsConnection) -> None:
        self.conn = conn
        self.suite: CipherSuite13 | None = None
        self.group: int | None = None
        self.stage = Stage.CLIENT_WAIT_SERVER_HELLO if conn.is_client else Stage.SERVER_WAIT_FLIGHT
        self._schedule: KeySchedule | None = None
        self._messages: list[bytes] = []  # transcript, TLS 1.3 framing
        # The transcript hashed so far: (the list hashed, the hash, how many messages it took).
        self._running: tuple[list[bytes], hashlib._Hash, int] | None = None
        self._read: dict[int, RecordProtection13] = {}
        self._write: dict[int, RecordProtection13] = {}
        self._read_next: dict[int, int] = {}
        self._replay: dict[int, ReplayWindow] = {}
        self._write_epoch = 0
        self._write_seq: dict[int, int] = {0: 0}
        self._secrets: dict[str, bytes] = {}
        self._exporter_secret = b""
        self._reassembler = Reassembler()
        self._send_seq = 0
        self._flight: list[_Outgoing] = []
        self._flight_records: dict[tuple[int, int], tuple[int, int]] = {}
        self._peer_records: list[tuple[int, int]] = []  # handshake records of the peer's flight
        self._peer_verified = False  # the peer's CertificateVerify checked out
        self._seen_encrypted_extensions = False
        self._deferred: list[UnifiedHeader] = []
        self._early: list[bytes] = []
        self._last_echo = -1e9
        self._share: ClientKeyShare | None = None
        self._client_hello: ClientHello | None = None
        self._cookie = b""
        self._hrr_sent = False
        self._request_schemes: tuple[int, ...] = ()
        self.certificate_requested = False
        self.active = False  # a client's stays inactive until the server picks 1.3

    # ------------------------------------------------------------------ public API (via conn)

    @property
    def exporter_ready(self) -> bool:
        return bool(self._exporter_secret)

    def export_keying_material(self, label: str, length: int) -> bytes:
        assert self._schedule is not None
        return self._schedule.export(self._exporter_secret, label, b"", length)

    def detach(self) -> None:
        """The connection is closed (every entry into this machine checks that first): let go
        of it, so that neither waits for the cyclic collector. What stays answers the
        connection's version, cipher suite and keying-material exporter."""
        del self.conn

    def send(self, data: bytes) -> None:
        self.conn._emit(self._seal(self._write_epoch, ContentType.APPLICATION_DATA, data))

    def send_alert(self, level: int, description: int) -> None:
        self.conn._emit(
            self._seal(self._write_epoch, ContentType.ALERT, bytes((level, description)))
        )

    def tick(self, now: float) -> None:
        conn = self.conn
        timer = conn._timer
        if timer.deadline is None or now < timer.deadline or not self._flight:
            return
        if not timer.fire(now):
            if conn.state is State.CONNECTED:
                self._flight = []  # our last flight was never acknowledged: nothing to do
                return
            conn._fail(HandshakeTimeout("peer stopped answering"), send_alert=False)
            return
        conn.stats.retransmissions += 1
        if self.stage is Stage.CLIENT_WAIT_FLIGHT and self._peer_records:
            # Part of the server's flight came: say which (RFC 9147 §7.1), and ask again.
            self._send_ack()
        self._transmit_flight()

    # ------------------------------------------------------------------ records

    def _seal(self, epoch: int, content_type: int, payload: bytes) -> bytes:
        seq = self._write_seq.get(epoch, 0)
        self._write_seq[epoch] = seq + 1
        self.conn.stats.records_sent += 1
        if epoch == 0:
            return header(content_type, DTLS_1_2, 0, seq, len(payload)) + payload
        return self._write[epoch].seal(seq, content_type, payload)

    def _install(self, epoch: int, client_secret: bytes, server_secret: bytes) -> None:
        assert self._schedule is not None and self.suite is not None
        ours, theirs = (
            (client_secret, server_secret)
            if self.conn.is_client
            else (server_secret, client_secret)
        )
        k = self.suite.key_length
        self._write[epoch] = RecordProtection13(
            self.suite, epoch, *self._schedule.traffic_keys(ours, k)
        )
        self._secrets[f"write{epoch}"] = ours
        self._write_seq[epoch] = 0
        self._install_read(epoch, theirs)

    def _install_read(self, epoch: int, secret: bytes) -> None:
        assert self._schedule is not None and self.suite is not None
        keys = self._schedule.traffic_keys(secret, self.suite.key_length)
        self._read[epoch] = RecordProtection13(self.suite, epoch, *keys)
        self._read_next[epoch] = 0
        self._replay[epoch] = ReplayWindow()
        self._secrets[f"read{epoch}"] = secret

    def receive(self, data: bytes, now: float) -> None:
        conn = self.conn
        records, malformed = parse_datagram13(data)
        if malformed:
            conn.stats.malformed += 1
        retransmitted = False
        try:
            for record in records:
                if isinstance(record, UnifiedHeader):
                    retransmitted |= self._on_protected(record, now)
                else:
                    retransmitted |= self._on_plaintext(*record, now)
                if conn.state in (State.CLOSED, State.FAILED):
                    return
            retransmitted |= self._drain_deferred(now)
        except DtlsError as exc:
            conn._fail(exc)
            return
        if retransmitted:
            self._on_peer_retransmission(now)

    def _on_peer_retransmission(self, now: float) -> None:
        """The peer sent a message we already had: our answer to it was lost."""
        conn = self.conn
        if now - self._last_echo < conn.config.initial_timeout / 4:
            return  # duplicated datagrams must not start a retransmission storm
        self._last_echo = now
        if self.stage is Stage.DONE and not conn.is_client:
            self._send_ack()  # the client resent its last flight: our ACK was lost
            return
        if self._flight:
            conn.stats.retransmissions += 1
            self._transmit_flight()

    def _on_plaintext(
        self, content_type: int, epoch: int, seq: int, fragment: bytes, now: float
    ) -> bool:
        conn = self.conn
        conn.stats.records_received += 1
        if epoch != 0:
            conn.stats.unexpected_epoch += 1  # DTLS 1.2-style protected record: not ours
            return False
        if content_type == ContentType.HANDSHAKE:
            return self._on_handshake(fragment, 0, seq, now)
        if content_type == ContentType.ALERT and conn.state is not State.CONNECTED:
            conn._on_alert(Alert.parse(fragment))
            return False
        conn.stats.unexpected_epoch += 1  # unprotected data, ACKs or alerts are never trusted
        return False

    def _resolve_epoch(self, bits: int) -> int | None:
        """The newest epoch we hold read keys for whose low bits match (RFC 9147 §4.2.2)."""
        best = None
        for epoch in self._read:
            if epoch & 3 == bits and (best is None or epoch > best):
                best = epoch
        return best

    def _on_protected(self, record: UnifiedHeader, now: float) -> bool:
        conn = self.conn
        epoch = self._resolve_epoch(record.epoch_bits)
        if epoch is None:
            if len(self._deferred) < _MAX_DEFERRED and conn.state is not State.CONNECTED:
                self._deferred.append(record)  # keys not derived yet: keep for later
            else:
                conn.stats.unexpected_epoch += 1
            return False
        conn.stats.records_received += 1
        protection = self._read[epoch]
        low = protection.sequence_low(record)
        seq = reconstruct_sequence(low, 8 * record.sequence_size, self._read_next[epoch])
        window = self._replay[epoch]
        if not window.check(seq):
            conn.stats.replayed += 1
            return False
        try:
            content_type, content = protection.open(record, seq, low)
        except BadRecordMac:
            conn.stats.bad_mac += 1
            return False
        window.accept(seq)
        if seq >= self._read_next[epoch]:
            self._read_next[epoch] = seq + 1
        if content_type == ContentType.HANDSHAKE:
            return self._on_handshake(content, epoch, seq, now)
        if content_type == CONTENT_TYPE_ACK:
            self._on_ack(Ack.parse(content))
        elif content_type == ContentType.ALERT:
            conn._on_alert(Alert.parse(content))
        elif content_type == ContentType.APPLICATION_DATA and epoch >= EPOCH_APPLICATION:
            if conn.state is State.CONNECTED:
                if conn.is_client and self._flight and EPOCH_HANDSHAKE in self._write:
                    # RFC 9147 §7.1: data under the new keys acknowledges our last flight.
                    self._flight = []
                    self._flight_records.clear()
                    conn._timer.stop()
                    self._drop_handshake_epoch()
                conn._out.append(ApplicationData(content))
            elif len(self._early) < _MAX_EARLY:
                self._early.append(content)  # overtook the client's Finished
        else:
            conn.stats.malformed += 1
        return False

    def _drain_deferred(self, now: float) -> bool:
        retransmitted = False
        while self._deferred:
            ready = [r for r in self._deferred if self._resolve_epoch(r.epoch_bits) is not None]
            if not ready:
                break
            self._deferred = [r for r in self._deferred if r not in ready]
            for record in ready:
                retransmitted |= self._on_protected(record, now)
                if self.conn.state in (State.CLOSED, State.FAILED):
                    return False
        return retransmitted

    # ------------------------------------------------------------------ ACKs and flights

    def _on_ack(self, ack: Ack) -> None:
        if not self._flight:
            return
        for number in ack.records:
            where = self._flight_records.get(number)
            if where is not None:
                index, offset = where
                self._flight[index].acked.add(offset)
        if all(self._fully_acked(m) for m in self._flight):
            key_update = self._flight[-1].msg_type == HandshakeType.KEY_UPDATE
            self._flight = []
            self._flight_records.clear()
            self.conn._timer.stop()
            if self.conn.is_client and self.stage is Stage.DONE and not key_update:
                self._drop_handshake_epoch()
            if key_update:
                # RFC 9147 §8: the new sending epoch starts once the KeyUpdate is acknowledged.
                assert self._schedule is not None and self.suite is not None
                epoch = self._write_epoch
                secret = self._schedule.next_traffic_secret(self._secrets[f"write{epoch}"])
                keys = self._schedule.traffic_keys(secret, self.suite.key_length)
                self._write[epoch + 1] = RecordProtection13(self.suite, epoch + 1, *keys)
                self._write_seq[epoch + 1] = 0
                self._secrets[f"write{epoch + 1}"] = secret
                self._write_epoch = epoch + 1

    def _drop_handshake_epoch(self) -> None:
        """The client's last flight is acknowledged: nothing more travels in epoch 2."""
        for table in (self._read, self._write, self._read_next, self._write_seq, self._replay):
            table.pop(EPOCH_HANDSHAKE, None)
        self._secrets.pop(f"read{EPOCH_HANDSHAKE}", None)
        self._secrets.pop(f"write{EPOCH_HANDSHAKE}", None)

    def update_keys(self, now: float, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3, RFC 9147 §8); ``request_peer`` asks the peer to
        update its sending keys too."""
        if self.stage is not Stage.DONE or self._flight:
            raise RuntimeError("a KeyUpdate needs a finished handshake and no flight in progress")
        if self._write_epoch >= _MAX_EPOCH:
            raise RuntimeError("the epoch would wrap")
        body = bytes((int(request_peer),))
        self._send_flight([self._message(HandshakeType.KEY_UPDATE, body, self._write_epoch)], now)

    def _fully_acked(self, message: _Outgoing) -> bool:
        return all(off in message.acked for off in self._fragment_offsets(message))

    def _fragment_room(self, epoch: int) -> int:
        overhead = RECORD_OVERHEAD if epoch else 13
        return self.conn.config.mtu - overhead - HANDSHAKE_HEADER_SIZE

    def _fragment_offsets(self, message: _Outgoing) -> range:
        room = self._fragment_room(message.epoch)
        return range(0, max(len(message.body), 1), room)

    def _send_flight(self, messages: list[_Outgoing], now: float | None) -> None:
        self._flight = messages
        self._flight_records.clear()
        self._transmit_flight()
        if now is None:
            self.conn._timer.stop()
        else:
            self.conn._timer.start(now)

    def _transmit_flight(self) -> None:
        """Every fragment of the flight not yet acknowledged, packed into datagrams."""
        mtu = self.conn.config.mtu
        datagrams: list[bytes] = []
        current = b""
        for index, message in enumerate(self._flight):
            room = self._fragment_room(message.epoch)
            body, n = message.body, len(message.body)
            for offset in self._fragment_offsets(message):
                if offset in message.acked:
                    continue
                chunk = body[offset : offset + room]
                payload = (
                    fragment_header(message.msg_type, n, message.message_seq, offset, len(chunk))
                    + chunk
                )
                seq = self._write_seq.get(message.epoch, 0)
                record = self._seal(message.epoch, ContentType.HANDSHAKE, payload)
                self._flight_records[(message.epoch, seq)] = (index, offset)
                if current and len(current) + len(record) > mtu:
                    datagrams.append(current)
                    current = b""
                current += record
        if current:
            datagrams.append(current)
        for datagram in datagrams:
            self.conn._emit(datagram)

    def _send_ack(self) -> None:
        if not self._peer_records or self._write_epoch == 0:
            return
        records = tuple(sorted(set(self._peer_records)))[-256:]
        self.conn._emit(self._seal(self._write_epoch, CONTENT_TYPE_ACK, bytes(Ack(records))))

    def _message(self, msg_type: int, body: bytes, epoch: int) -> _Outgoing:
        message = _Outgoing(epoch, msg_type, self._send_seq, body)
        self._send_seq += 1
        if msg_type != HandshakeType.KEY_UPDATE:
            self._messages.append(tls_message(msg_type, body))
        return message

    # ------------------------------------------------------------------ handshake

    def _on_handshake(self, data: bytes, epoch: int, record_seq: int, now: float) -> bool:
        conn = self.conn
        try:
            fragments = split_fragments(data)
        except DecodeError:
            conn.stats.malformed += 1
            return False
        retransmitted = False
        if epoch:
            if self.stage is Stage.DONE and epoch >= EPOCH_APPLICATION:
                self._peer_records = []  # a post-handshake message: ACK just its records
            self._peer_records.append((epoch, record_seq))
        for msg_type, length, seq, offset, body in fragments:
            if not self._reassembler.add_fields(msg_type, length, seq, offset, body, epoch):
                retransmitted = True
            while (message := self._reassembler.pop()) is not None:
                self._on_message(message, now)
                if conn.state in (State.CLOSED, State.FAILED):
                    return False
        return retransmitted

    def _transcript_hash(self) -> bytes:
        """Hash of the transcript so far. A handshake asks five times, each time after a
        message or two more: the hash runs on, each message hashed once. A new transcript
        list (a HelloRetryRequest's, a finished handshake's) starts it again."""
        assert self.suite is not None
        messages = self._messages
        running = self._running
        if running is None or running[0] is not messages:
            hasher, fed = hashlib.new(self.suite.hash_name), 0
        else:
            _, hasher, fed = running
        for message in messages[fed:]:
            hasher.update(message)
        self._running = (messages, hasher, len(messages))
        return hasher.copy().digest()

    def _record_received(self, message: Message) -> None:
        self._messages.append(tls_message(message.msg_type, message.body))

    def _on_message(self, message: Message, now: float) -> None:
        t, epoch = message.msg_type, message.epoch
        if self.stage is Stage.DONE:
            self._on_post_handshake(message, now)
            return
        hello_types = (HandshakeType.CLIENT_HELLO, HandshakeType.SERVER_HELLO)
        if (t in hello_types) != (epoch == 0) or epoch not in (0, EPOCH_HANDSHAKE):
            raise UnexpectedMessage(f"handshake message {t} in epoch {epoch}")
        if self.conn.is_client:
            self._client_message(message, now)
        else:
            self._server_message(message, now)

    def _on_post_handshake(self, message: Message, now: float) -> None:
        t = message.msg_type
        if message.epoch < EPOCH_APPLICATION:
            return  # a late copy of a handshake flight
        if t == HandshakeType.NEW_SESSION_TICKET and self.conn.is_client:
            pass  # no resumption: acknowledged and dropped
        elif t == HandshakeType.KEY_UPDATE:
            requested = parse_key_update(message.body)
            top = max(self._read)
            if message.epoch == top and top < _MAX_EPOCH:
                assert self._schedule is not None
                secret = self._schedule.next_traffic_secret(self._secrets[f"read{top}"])
                self._install_read(top + 1, secret)
            self._send_ack()  # RFC 9147 §7: post-handshake messages are acknowledged
            if requested and not self._flight and self._write_epoch < _MAX_EPOCH:
                self.update_keys(now)
            return
        else:
            raise UnexpectedMessage(f"handshake message {t} after the handshake")
        self._send_ack()

    def _complete(self) -> None:
        conn = self.conn
        assert self.suite is not None
        self.stage = Stage.DONE
        conn.state = State.CONNECTED
        logger.debug("DTLS 1.3 handshake complete: %s, group %s", self.suite.name, self.group)
        conn._out.append(
            HandshakeComplete(
                self.suite.name,
                conn._neg.srtp_profile,
                conn.peer_fingerprint,
                True,  # TLS 1.3 keys always cover the whole transcript: what EMS gives 1.2
                DTLS_1_3,
                self.group,
            )
        )
        conn._out.extend(ApplicationData(d) for d in self._early)
        self._early.clear()
        # The handshake's working state is done with (memory per idle connection): the key
        # share, both ClientHellos' copies (ours holds a 1.2 KB ML-KEM key), the transcript,
        # the handshake secrets, the peer's public key. Epoch 2 keys stay where a lost flight
        # still needs them: the client's until the server ACKs its last flight
        # (_drop_handshake_epoch); the server's reading ones, to ACK that flight again if our
        # ACK was lost (RFC 9147 §5.8.3). The server writes nothing more in epoch 2 (its ACKs
        # go in epoch 3), and the client ACKs none of the server's records again (a
        # post-handshake message starts a list of its own).
        if conn.is_client:
            self._peer_records = []
        else:
            self._write.pop(EPOCH_HANDSHAKE, None)
            self._write_seq.pop(EPOCH_HANDSHAKE, None)
            self._secrets.pop(f"write{EPOCH_HANDSHAKE}", None)
        self._share = None
        self._client_hello = None
        self._messages = []
        self._running = None
        self._secrets.pop("c hs", None)
        self._secrets.pop("s hs", None)
        conn._side = None  # (the 1.2 machine: our ClientHello, or the server's ECDHE share)
        conn._transcript.clear()
        conn._transcript_hasher = None
        neg = conn._neg
        neg.offered_extensions = frozenset()
        # The peer's public key (a native OpenSSL key, ~2 KiB) checked its CertificateVerify;
        # nothing is signed after the handshake (no post-handshake authentication).
        neg.peer_key = None
        neg.request_schemes = ()
        self._request_schemes = ()

    def _check_certificate(self, body: bytes) -> bool:
        """Check the peer's Certificate; False when it is empty (a client may send none)."""
        certificate = Certificate13.parse(body)
        if certificate.context:
            raise IllegalParameter("certificate_request_context must be empty")
        if not certificate.certificates:
            return False
        self.conn._check_chain(certificate.certificates)
        return True

    def _verify_peer(self, body: bytes, server: bool) -> None:
        cv = CertificateVerify.parse(body)
        if cv.signature_scheme not in TLS13_SCHEMES:
            raise IllegalParameter(f"signature scheme {cv.signature_scheme:#06x} in TLS 1.3")
        content = certificate_verify_content(self._transcript_hash(), server)
        verify_signature(self.conn._peer_key(), cv.signature_scheme, content, cv.signature)

    def _certificate_verify(self, offered: tuple[int, ...]) -> bytes:
        cert = self.conn.config.certificate
        usable = tuple(s for s in offered if s in TLS13_SCHEMES and s not in _PKCS1)
        if cert.key_type == "ecdsa":
            # TLS 1.3 binds the curve to the hash: only our curve's scheme will do.
            own = cert.schemes[0]
            scheme = int(own) if own in usable and own in ECDSA_SCHEMES else None
        else:
            scheme = cert.choose_scheme(usable)
        if scheme is None:
            raise HandshakeFailure("no signature scheme in common for our certificate")
        content = certificate_verify_content(self._transcript_hash(), not self.conn.is_client)
        return bytes(CertificateVerify(scheme, cert.sign(scheme, content)))

    def _finished(self, client: bool) -> bytes:
        assert self._schedule is not None
        base = self._secrets["c hs" if client else "s hs"]
        return self._schedule.finished(base, self._transcript_hash())

    def _start_schedule(self, shared: bytes) -> None:
        assert self.suite is not None
        self._schedule = KeySchedule(self.suite.hash_name)
        client, server = self._schedule.handshake(shared, self._transcript_hash())
        self._secrets["c hs"], self._secrets["s hs"] = client, server
        self._install(EPOCH_HANDSHAKE, client, server)

    def _application_keys(self) -> None:
        """After the server Finished is in the transcript (RFC 8446 §7.1)."""
        assert self._schedule is not None
        client, server, exporter = self._schedule.application(self._transcript_hash())
        self._exporter_secret = exporter
        self._install(EPOCH_APPLICATION, client, server)

    # ------------------------------------------------------------------ server

    def start_server(self, hello: ClientHello, message: Message, now: float) -> None:
        """Answer a ClientHello that offers DTLS 1.3 (the connection parsed it)."""
        self._reassembler.reset(message.message_seq + 1)
        self._send_seq = 0
        self._server_hello(hello, message, now)

    def _server_message(self, message: Message, now: float) -> None:
        t = message.msg_type
        conn = self.conn
        if self.stage is Stage.SERVER_WAIT_CLIENT_HELLO2 and t == HandshakeType.CLIENT_HELLO:
            self._server_hello(ClientHello.parse(message.body), message, now)
            return
        if self.stage is not Stage.SERVER_WAIT_FLIGHT:
            raise UnexpectedMessage(f"unexpected handshake message {t}")
        neg = conn._neg
        if t == HandshakeType.CERTIFICATE and self.certificate_requested and neg.peer_key is None:
            if not self._check_certificate(message.body):
                if conn.config.require_client_certificate:
                    raise _CertificateRequired("client sent no certificate")
                self.certificate_requested = False
            self._record_received(message)
            return
        if (
            t == HandshakeType.CERTIFICATE_VERIFY
            and neg.peer_key is not None
            and not self._peer_verified
        ):
            self._verify_peer(message.body, server=False)
            self._peer_verified = True
            self._record_received(message)
            return
        if t == HandshakeType.FINISHED and (self._peer_verified or not self.certificate_requested):
            if not hmac.compare_digest(message.body, self._finished(client=True)):
                raise DecryptError("client Finished does not verify")
            self._record_received(message)
            self._flight = []
            self._flight_records.clear()
            conn._timer.stop()
            self._write_epoch = EPOCH_APPLICATION
            self._send_ack()  # RFC 9147 §5.8.3: the client's last flight is acknowledged
            self._complete()
            return
        raise UnexpectedMessage(f"unexpected handshake message {t} from client")

    def _server_hello(self, hello: ClientHello, message: Message, now: float) -> None:
        conn = self.conn
        cfg = conn.config
        exts = hello.extensions
        versions = find(exts, ExtensionType.SUPPORTED_VERSIONS)
        if versions is None or DTLS_1_3 not in client_supported_versions(versions):
            raise IllegalParameter("second ClientHello without DTLS 1.3")
        if 0 not in hello.compression_methods or len(hello.compression_methods) != 1:
            raise IllegalParameter("TLS 1.3 allows only null compression")
        if hello.cookie:
            raise IllegalParameter("legacy_cookie must be empty in DTLS 1.3")
        suite_id = next(
            (s for s in cfg.tls13_suites if s in hello.cipher_suites and s in SUITES13), None
        )
        if suite_id is None:
            raise HandshakeFailure("no TLS 1.3 cipher suite in common")
        if self.suite is not None and self.suite.id != suite_id:
            raise IllegalParameter("the second ClientHello changed the suite")
        self.suite = SUITES13[suite_id]
        groups_data = find(exts, ExtensionType.SUPPORTED_GROUPS)
        sigalgs = find(exts, ExtensionType.SIGNATURE_ALGORITHMS)
        shares_data = find(exts, ExtensionType.KEY_SHARE)
        if groups_data is None or sigalgs is None or shares_data is None:
            raise _MissingExtension("TLS 1.3 ClientHello without groups, signatures or shares")
        offered_groups = SupportedGroups.parse(groups_data).groups
        shares = parse_client_shares(shares_data)
        for share in shares:
            if share.group not in offered_groups:
                raise IllegalParameter("key share for a group not in supported_groups")
        schemes = SignatureAlgorithms.parse(sigalgs).schemes
        if self._hrr_sent:
            cookie = find(exts, ExtensionType.COOKIE)
            if cookie is None or not hmac.compare_digest(parse_cookie(cookie), self._cookie):
                raise IllegalParameter("second ClientHello without our cookie")
            chosen: KeyShareEntry | None = next((s for s in shares if s.group == self.group), None)
            if chosen is None:
                logger.debug("second ClientHello shares: %s", [s.group for s in shares])
                raise IllegalParameter("second ClientHello without the requested share")
        else:
            chosen = next((s for g in cfg.tls13_groups for s in shares if s.group == g), None)
            wanted = next((g for g in cfg.tls13_groups if g in offered_groups), None)
            if wanted is None:
                raise HandshakeFailure("no group in common")
            if chosen is None or cfg.cookie_exchange:
                self.group = chosen.group if chosen is not None else wanted
                self._messages = [
                    message_hash(
                        self.suite.hash_name, tls_message(HandshakeType.CLIENT_HELLO, message.body)
                    )
                ]
                self._send_hello_retry_request(hello, message, chosen is None, now)
                return
            self._messages = []
        assert chosen is not None
        self._messages.append(tls_message(HandshakeType.CLIENT_HELLO, message.body))
        self.group = chosen.group
        server_share, shared = server_key_share(chosen.group, chosen.key_exchange)
        reply_ee: list[Extension] = []
        srtp = find(exts, ExtensionType.USE_SRTP)
        neg = conn._neg
        if srtp is not None:
            offered = UseSrtp.parse(srtp).profiles
            profile = next((p for p in cfg.srtp_profiles if p in offered), None)
            if profile is not None:
                neg.srtp_profile = SrtpProfile(profile)
                reply_ee.append(Extension(ExtensionType.USE_SRTP, bytes(UseSrtp((profile,)))))
        server_hello = ServerHello(
            DTLS_1_2,
            os.urandom(RANDOM_SIZE),
            hello.session_id,
            suite_id,
            0,
            (
                Extension(ExtensionType.SUPPORTED_VERSIONS, DTLS_1_3.to_bytes(2, "big")),
                Extension(
                    ExtensionType.KEY_SHARE, bytes(KeyShareEntry(chosen.group, server_share))
                ),
            ),
        )
        messages = [self._message(HandshakeType.SERVER_HELLO, bytes(server_hello), 0)]
        self._start_schedule(shared)
        self._write_epoch = EPOCH_HANDSHAKE
        messages.append(
            self._message(
                HandshakeType.ENCRYPTED_EXTENSIONS,
                bytes(EncryptedExtensions(tuple(reply_ee))),
                EPOCH_HANDSHAKE,
            )
        )
        if cfg.require_client_certificate:
            self.certificate_requested = True
            request = CertificateRequest13(
                b"",
                (
                    Extension(
                        ExtensionType.SIGNATURE_ALGORITHMS,
                        bytes(SignatureAlgorithms(TLS13_SCHEMES)),
                    ),
                ),
            )
            messages.append(
                self._message(HandshakeType.CERTIFICATE_REQUEST, bytes(request), EPOCH_HANDSHAKE)
            )
        messages.append(
            self._message(
                HandshakeType.CERTIFICATE,
                bytes(Certificate13(b"", (cfg.certificate.der,))),
                EPOCH_HANDSHAKE,
            )
        )
        messages.append(
            self._message(
                HandshakeType.CERTIFICATE_VERIFY, self._certificate_verify(schemes), EPOCH_HANDSHAKE
            )
        )
        messages.append(
            self._message(HandshakeType.FINISHED, self._finished(client=False), EPOCH_HANDSHAKE)
        )
        self._application_keys()
        self.stage = Stage.SERVER_WAIT_FLIGHT
        conn.state = State.WAIT_FLIGHT
        self._peer_records = []
        self._send_flight(messages, now)

    def _send_hello_retry_request(
        self, hello: ClientHello, message: Message, new_group: bool, now: float
    ) -> None:
        conn = self.conn
        assert self.suite is not None and self.group is not None
        self._cookie = hmac.digest(_COOKIE_SECRET, conn.remote_address + message.body, "sha256")
        extensions = [Extension(ExtensionType.SUPPORTED_VERSIONS, DTLS_1_3.to_bytes(2, "big"))]
        if new_group:
            extensions.append(Extension(ExtensionType.KEY_SHARE, self.group.to_bytes(2, "big")))
        extensions.append(Extension(ExtensionType.COOKIE, vec16(self._cookie)))
        hrr = ServerHello(
            DTLS_1_2,
            HELLO_RETRY_REQUEST_RANDOM,
            hello.session_id,
            self.suite.id,
            0,
            tuple(extensions),
        )
        self._hrr_sent = True
        self.stage = Stage.SERVER_WAIT_CLIENT_HELLO2
        conn.state = State.WAIT_HELLO
        # RFC 9147 §5.8.1: an HRR is not retransmitted on a timer; a resent ClientHello
        # brings it again.
        self._send_flight([self._message(HandshakeType.SERVER_HELLO, bytes(hrr), 0)], None)

    # ------------------------------------------------------------------ client

    def offer(self, group: int) -> KeyShareEntry:
        """Our key share for the first ClientHello (made once, reused after an HVR)."""
        if self._share is None or self._share.group != group:
            self._share = ClientKeyShare(group)
        return KeyShareEntry(group, self._share.public_key)

    def begin_client(self, client_hello: ClientHello, send_seq: int, now: float) -> None:
        """Take over from the DTLS 1.2 client: the server chose 1.3 (or asks for a retry).
        Our ClientHello becomes this machine's flight, its timer left running."""
        conn = self.conn
        self.active = True
        self._client_hello = client_hello
        body = bytes(client_hello)
        self._messages = [tls_message(HandshakeType.CLIENT_HELLO, body)]
        self._flight = [_Outgoing(0, HandshakeType.CLIENT_HELLO, send_seq - 1, body)]
        self._send_seq = send_seq
        self._write_seq[0] = conn._write_seq[0]
        conn._flight = None

    def _client_message(self, message: Message, now: float) -> None:
        t = message.msg_type
        conn = self.conn
        neg = conn._neg
        if self.stage is Stage.CLIENT_WAIT_SERVER_HELLO:
            if t != HandshakeType.SERVER_HELLO:
                raise UnexpectedMessage(f"expected ServerHello, got {t}")
            self._on_server_hello(ServerHello.parse(message.body), message, now)
            return
        if self.stage is not Stage.CLIENT_WAIT_FLIGHT:
            raise UnexpectedMessage(f"unexpected handshake message {t}")
        seen_ee = self._seen_encrypted_extensions
        if t == HandshakeType.ENCRYPTED_EXTENSIONS and not seen_ee:
            self._on_encrypted_extensions(EncryptedExtensions.parse(message.body))
            self._seen_encrypted_extensions = True
        elif (
            t == HandshakeType.CERTIFICATE_REQUEST
            and seen_ee
            and neg.peer_key is None
            and not self.certificate_requested
        ):
            request = CertificateRequest13.parse(message.body)
            if request.context:
                raise IllegalParameter("certificate_request_context must be empty in a handshake")
            sigalgs = find(request.extensions, ExtensionType.SIGNATURE_ALGORITHMS)
            if sigalgs is None:
                raise _MissingExtension("CertificateRequest without signature_algorithms")
            self._request_schemes = SignatureAlgorithms.parse(sigalgs).schemes
            self.certificate_requested = True
        elif t == HandshakeType.CERTIFICATE and seen_ee and neg.peer_key is None:
            if not self._check_certificate(message.body):
                raise HandshakeFailure("server sent no certificate")
        elif (
            t == HandshakeType.CERTIFICATE_VERIFY
            and neg.peer_key is not None
            and not self._peer_verified
        ):
            self._verify_peer(message.body, server=True)
            self._peer_verified = True
        elif t == HandshakeType.FINISHED and self._peer_verified:
            if not hmac.compare_digest(message.body, self._finished(client=False)):
                raise DecryptError("server Finished does not verify")
            self._record_received(message)
            self._send_client_flight(now)
            return
        else:
            raise UnexpectedMessage(f"unexpected handshake message {t} from server")
        self._record_received(message)

    def _on_server_hello(self, hello: ServerHello, message: Message, now: float) -> None:
        conn = self.conn
        client_hello = self._client_hello
        assert client_hello is not None and self._share is not None
        version = find(hello.extensions, ExtensionType.SUPPORTED_VERSIONS)
        if version is None or server_supported_version(version) != DTLS_1_3:
            raise IllegalParameter("server left DTLS 1.3 after choosing it")
        if hello.server_version != DTLS_1_2:
            raise IllegalParameter(f"legacy_version {hello.server_version:#x}")
        if hello.session_id != client_hello.session_id:
            raise IllegalParameter("legacy_session_id_echo does not match")
        if (
            hello.cipher_suite not in client_hello.cipher_suites
            or hello.cipher_suite not in SUITES13
        ):
            raise IllegalParameter("server chose a cipher suite we did not offer")
        if hello.compression_method != 0:
            raise IllegalParameter("server chose compression")
        offered = {e.type for e in client_hello.extensions}
        if hello.random == HELLO_RETRY_REQUEST_RANDOM:
            offered.add(ExtensionType.COOKIE)  # RFC 8446 §4.2.2: the server's to add
        for ext in hello.extensions:
            if ext.type not in offered:
                raise UnsupportedExtension(f"server sent extension {ext.type} we did not offer")
        if self.suite is not None and self.suite.id != hello.cipher_suite:
            raise IllegalParameter("ServerHello suite differs from the HelloRetryRequest's")
        self.suite = SUITES13[hello.cipher_suite]
        share = find(hello.extensions, ExtensionType.KEY_SHARE)
        if hello.random == HELLO_RETRY_REQUEST_RANDOM:
            group = None if share is None else parse_selected_group(share)
            self._on_hello_retry_request(hello, group, message, now)
            return
        if share is None:
            raise _MissingExtension("ServerHello without key_share")
        entry = parse_server_share(share)
        if entry.group != self._share.group:
            raise IllegalParameter("server answered a group we sent no share for")
        shared = self._share.shared_secret(entry.key_exchange)
        self.group = entry.group
        self._record_received(message)
        self._start_schedule(shared)
        self.stage = Stage.CLIENT_WAIT_FLIGHT
        conn.state = State.WAIT_FLIGHT
        self._peer_records = []
        # The ClientHello timer keeps running: if the rest of the server's flight is lost,
        # the timer sends an ACK of what came and the ClientHello again (see tick()).

    def _on_hello_retry_request(
        self, hrr: ServerHello, group: int | None, message: Message, now: float
    ) -> None:
        """RFC 8446 §4.1.4: a new key share (``group``), a cookie to echo, or both."""
        conn = self.conn
        assert self.suite is not None and self._share is not None
        assert self._client_hello is not None
        if self._hrr_sent:
            raise UnexpectedMessage("second HelloRetryRequest")
        cookie_data = find(hrr.extensions, ExtensionType.COOKIE)
        if group is not None and (
            group not in conn.config.tls13_groups or group == self._share.group
        ):
            raise IllegalParameter("HelloRetryRequest asks for a group we cannot or did use")
        if group is None and cookie_data is None:
            raise IllegalParameter("HelloRetryRequest that changes nothing")
        self._hrr_sent = True
        self._messages = [message_hash(self.suite.hash_name, self._messages[0])]
        self._record_received(message)
        if group is not None:
            self._share = ClientKeyShare(group)
        group = self._share.group
        extensions = []
        for ext in self._client_hello.extensions:
            if ext.type == ExtensionType.KEY_SHARE:
                entry = KeyShareEntry(group, self._share.public_key)
                ext = Extension(ExtensionType.KEY_SHARE, encode_client_shares((entry,)))
            extensions.append(ext)
        if cookie_data is not None:
            parse_cookie(cookie_data)
            extensions.append(Extension(ExtensionType.COOKIE, cookie_data))
        hello = ClientHello(
            self._client_hello.client_version,
            self._client_hello.random,
            self._client_hello.session_id,
            b"",
            self._client_hello.cipher_suites,
            self._client_hello.compression_methods,
            tuple(extensions),
        )
        self._client_hello = hello
        self.stage = Stage.CLIENT_WAIT_SERVER_HELLO
        conn.state = State.WAIT_HELLO
        self._send_flight([self._message(HandshakeType.CLIENT_HELLO, bytes(hello), 0)], now)

    def _on_encrypted_extensions(self, ee: EncryptedExtensions) -> None:
        conn = self.conn
        assert self._client_hello is not None
        offered = {e.type for e in self._client_hello.extensions}
        for ext in ee.extensions:
            if ext.type not in offered:
                raise UnsupportedExtension(f"server sent extension {ext.type} we did not offer")
            if ext.type in (ExtensionType.KEY_SHARE, ExtensionType.SUPPORTED_VERSIONS):
                raise IllegalParameter(f"extension {ext.type} in EncryptedExtensions")
        srtp = find(ee.extensions, ExtensionType.USE_SRTP)
        if srtp is not None:
            use = UseSrtp.parse(srtp)
            if len(use.profiles) != 1 or use.profiles[0] not in conn.config.srtp_profiles:
                raise IllegalParameter("server chose an SRTP profile we did not offer")
            conn._neg.srtp_profile = SrtpProfile(use.profiles[0])

    def _send_client_flight(self, now: float) -> None:
        conn = self.conn
        # Application secrets hash the transcript up to the server Finished.
        assert self._schedule is not None
        client_ap, server_ap, exporter = self._schedule.application(self._transcript_hash())
        messages: list[_Outgoing] = []
        if self.certificate_requested:
            cert = conn.config.certificate
            messages.append(
                self._message(
                    HandshakeType.CERTIFICATE,
                    bytes(Certificate13(b"", (cert.der,))),
                    EPOCH_HANDSHAKE,
                )
            )
            messages.append(
                self._message(
                    HandshakeType.CERTIFICATE_VERIFY,
                    self._certificate_verify(self._request_schemes),
                    EPOCH_HANDSHAKE,
                )
            )
        messages.append(
            self._message(HandshakeType.FINISHED, self._finished(client=True), EPOCH_HANDSHAKE)
        )
        self._exporter_secret = exporter
        self._install(EPOCH_APPLICATION, client_ap, server_ap)
        self._write_epoch = EPOCH_APPLICATION
        self._send_flight(messages, now)
        self._complete()


class _CertificateRequired(HandshakeFailure):
    alert_description = _ALERT_CERTIFICATE_REQUIRED


class _MissingExtension(DtlsError):
    alert_description = 109  # missing_extension (RFC 8446 §6.2)


def downgrade_sentinel(random: bytes) -> bool:
    """Whether a ServerHello random carries a TLS 1.3 server's downgrade marker (§4.1.3)."""
    return random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11)
