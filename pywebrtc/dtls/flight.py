"""Flights and their retransmission (RFC 6347 §4.2.4).

A flight is the list of messages one side sends before waiting for the other. It is kept as
plain messages and turned into datagrams on every (re)transmission, because each transmission
gets fresh record sequence numbers and handshake messages are fragmented to fit the MTU
(RFC 6347 §4.2.3: a retransmitted message keeps its message_seq).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pywebrtc.dtls.handshake import HANDSHAKE_HEADER_SIZE, fragment_header
from pywebrtc.dtls.record import HEADER_SIZE, ContentType

# RFC 6347 §4.2.4.1: 1 s initial timer, doubled on each retransmission, at most 60 s.
INITIAL_TIMEOUT = 1.0
MAX_TIMEOUT = 60.0
MAX_RETRANSMISSIONS = 7

# Sealer: (epoch, content_type, payload) -> one whole record; Overhead: epoch -> AEAD bytes.
Sealer = Callable[[int, int, bytes], bytes]
Overhead = Callable[[int], int]


@dataclass(frozen=True, slots=True)
class FlightMessage:
    epoch: int
    content_type: int
    data: bytes  # a whole handshake message (header + body) or the CCS byte


# The ChangeCipherSpec both sides put before their Finished (RFC 5246 §7.1), sent in epoch 0.
CHANGE_CIPHER_SPEC = FlightMessage(0, ContentType.CHANGE_CIPHER_SPEC, b"\x01")


@dataclass(slots=True)
class Flight:
    messages: list[FlightMessage]

    def datagrams(self, mtu: int, seal: Sealer, overhead: Overhead) -> list[bytes]:
        out: list[bytes] = []
        current = b""  # the datagram being filled: whole records
        # Consecutive handshake messages of one epoch share a record while the datagram has
        # room (RFC 6347 §4.2.3): fewer records to seal, parse and authenticate on each side.
        pending = b""
        pending_epoch = 0
        for msg in self.messages:
            epoch, content_type, data = msg.epoch, msg.content_type, msg.data
            record_cost = HEADER_SIZE + overhead(epoch)
            if content_type == ContentType.HANDSHAKE:
                if pending:
                    if (
                        epoch == pending_epoch
                        and len(current) + record_cost + len(pending) + len(data) <= mtu
                    ):
                        pending += data
                        continue
                    current += seal(pending_epoch, ContentType.HANDSHAKE, pending)
                    pending = b""
                size = record_cost + len(data)
                if size > mtu - len(current):
                    if size > mtu:
                        current = self._fragment(msg, mtu, record_cost, current, out, seal)
                        continue
                    if current:  # fits a datagram of its own: start one rather than fragment
                        out.append(current)
                        current = b""
                pending, pending_epoch = data, epoch
                continue
            if pending:
                current += seal(pending_epoch, ContentType.HANDSHAKE, pending)
                pending = b""
            record = seal(epoch, content_type, data)
            if current and len(current) + len(record) > mtu:
                out.append(current)
                current = b""
            current += record
        if pending:
            current += seal(pending_epoch, ContentType.HANDSHAKE, pending)
        if current:
            out.append(current)
        return out

    @staticmethod
    def _fragment(
        msg: FlightMessage,
        mtu: int,
        record_cost: int,
        current: bytes,
        out: list[bytes],
        seal: Sealer,
    ) -> bytes:
        """Split a message too large for one datagram; returns the datagram being filled."""
        header = msg.data[:HANDSHAKE_HEADER_SIZE]
        body = msg.data[HANDSHAKE_HEADER_SIZE:]
        msg_type, length, seq = header[0], len(body), int.from_bytes(header[4:6], "big")
        offset = 0
        while offset < length:
            room = mtu - len(current) - record_cost - HANDSHAKE_HEADER_SIZE
            if room < 64:  # not worth a fragment: start a new datagram
                if current:
                    out.append(current)
                    current = b""
                room = mtu - record_cost - HANDSHAKE_HEADER_SIZE
            if room <= 0:
                raise ValueError(f"MTU {mtu} too small for a handshake fragment")
            chunk = body[offset : offset + room]
            fragment = fragment_header(msg_type, length, seq, offset, len(chunk)) + chunk
            current += seal(msg.epoch, msg.content_type, fragment)
            offset += len(chunk)
        return current


class RetransmitTimer:
    """Exponential backoff for the flight in flight: ``fire`` doubles, ``stop`` disarms."""

    __slots__ = ("attempts", "deadline", "initial", "maximum", "max_attempts", "timeout")

    def __init__(
        self,
        initial: float = INITIAL_TIMEOUT,
        maximum: float = MAX_TIMEOUT,
        max_attempts: int = MAX_RETRANSMISSIONS,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.max_attempts = max_attempts
        self.timeout = initial
        self.deadline: float | None = None
        self.attempts = 0

    def start(self, now: float) -> None:
        """Arm for a new flight: back to the initial timeout."""
        self.timeout = self.initial
        self.attempts = 0
        self.deadline = now + self.timeout

    def fire(self, now: float) -> bool:
        """Back off after a timeout; False once retransmissions are exhausted."""
        self.attempts += 1
        if self.attempts > self.max_attempts:
            self.deadline = None
            return False
        self.timeout = min(self.timeout * 2, self.maximum)
        self.deadline = now + self.timeout
        return True

    def stop(self) -> None:
        self.deadline = None
