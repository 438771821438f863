"""Handshake reassembly (RFC 6347 §4.2.2-§4.2.3): fragments in any order, with duplicates,
become whole messages delivered strictly in message_seq order.

Limits keep hostile input bounded: a message may be at most ``max_message_size`` bytes and
only ``window`` messages ahead of the next expected one are buffered.
"""

from __future__ import annotations

from dataclasses import dataclass

from pywebrtc.dtls.errors import DecodeError, IllegalParameter
from pywebrtc.dtls.handshake import HandshakeFragment

MAX_MESSAGE_SIZE = 1 << 17
WINDOW = 16


@dataclass(frozen=True, slots=True)
class Message:
    """A reassembled handshake message and the epoch its fragments arrived in."""

    msg_type: int
    message_seq: int
    body: bytes
    epoch: int


class _Partial:
    __slots__ = ("buffer", "epoch", "length", "msg_type", "ranges")

    def __init__(self, msg_type: int, length: int, epoch: int) -> None:
        self.msg_type = msg_type
        self.epoch = epoch
        self.length = length
        self.buffer = bytearray(length)
        self.ranges: list[tuple[int, int]] = []

    def add(self, offset: int, data: bytes) -> None:
        end = offset + len(data)
        self.buffer[offset:end] = data
        merged: list[tuple[int, int]] = []
        for start, stop in sorted([*self.ranges, (offset, end)]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
            else:
                merged.append((start, stop))
        self.ranges = merged

    @property
    def complete(self) -> bool:
        return self.ranges == [(0, self.length)] or (self.length == 0 and self.ranges != [])


class Reassembler:
    """Collects fragments; ``pop`` returns whole messages in message_seq order."""

    __slots__ = ("_partial", "_ready", "max_message_size", "next_seq", "window")

    def __init__(
        self, next_seq: int = 0, max_message_size: int = MAX_MESSAGE_SIZE, window: int = WINDOW
    ) -> None:
        self.next_seq = next_seq
        self.max_message_size = max_message_size
        self.window = window
        self._partial: dict[int, _Partial] = {}
        self._ready: Message | None = None

    def add(self, fragment: HandshakeFragment, epoch: int = 0) -> bool:
        """Buffer a fragment. Returns False if it belongs to an already delivered message
        (the peer is retransmitting), True otherwise. Inconsistent fragments raise."""
        return self.add_fields(
            fragment.msg_type,
            fragment.length,
            fragment.message_seq,
            fragment.fragment_offset,
            fragment.body,
            epoch,
        )

    def add_fields(
        self, msg_type: int, length: int, seq: int, offset: int, body: bytes, epoch: int = 0
    ) -> bool:
        """``add`` for a fragment given as its fields (see ``handshake.split_fragments``)."""
        if seq < self.next_seq:
            return False
        if seq >= self.next_seq + self.window:
            return True  # too far ahead: drop, the peer will retransmit
        if (
            seq == self.next_seq
            and self._ready is None
            and offset == 0
            and len(body) == length
            and seq not in self._partial
        ):
            # Fast path: a whole message in one fragment, the one we expect next.
            self._ready = Message(msg_type, seq, body, epoch)
            self.next_seq = seq + 1
            return True
        if length > self.max_message_size:
            raise IllegalParameter(f"handshake message of {length} bytes is too large")
        partial = self._partial.get(seq)
        if partial is None:
            partial = self._partial[seq] = _Partial(msg_type, length, epoch)
        elif partial.msg_type != msg_type or partial.length != length or partial.epoch != epoch:
            raise DecodeError("handshake fragments disagree on type, length or epoch")
        partial.add(offset, body)
        return True

    def pop(self) -> Message | None:
        if self._ready is not None:
            ready, self._ready = self._ready, None
            return ready
        seq = self.next_seq
        partial = self._partial.get(seq)
        if partial is None or not partial.complete:
            return None
        del self._partial[seq]
        self.next_seq = seq + 1
        return Message(partial.msg_type, seq, bytes(partial.buffer), partial.epoch)

    def pop_any(self) -> Message | None:
        """The lowest complete message whatever its sequence number (a server waiting for a
        ClientHello does not know yet whether it is the first or the one with a cookie)."""
        if self._ready is not None:
            self._partial.clear()
            return self.pop()
        for seq in sorted(self._partial):
            partial = self._partial[seq]
            if partial.complete:
                self._partial.clear()
                self.next_seq = seq + 1
                return Message(partial.msg_type, seq, bytes(partial.buffer), partial.epoch)
        return None

    def reset(self, next_seq: int) -> None:
        self._partial.clear()
        self._ready = None
        self.next_seq = next_seq
