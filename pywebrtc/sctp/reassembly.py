"""Receive-side message reassembly per stream (RFC 9260 §6.5, §6.6, §6.9; RFC 3758 §3.6).

Ordered messages are grouped by stream sequence number and delivered in SSN order; unordered
messages are runs of consecutive TSNs from a B fragment to an E fragment. Every buffered chunk
costs its payload plus ``CHUNK_OVERHEAD`` against the association's receive buffer, so a flood
of tiny chunks cannot consume more memory than a few large ones. A message larger than the
local max-message-size is discarded (its stream reports an error, other streams go on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pywebrtc.sctp.chunk import DataChunk

CHUNK_OVERHEAD = 64  # bytes charged per buffered chunk on top of its payload


def chunk_cost(chunk: DataChunk) -> int:
    return len(chunk.user_data) + CHUNK_OVERHEAD


def unwrap(value: int, reference: int, bits: int) -> int:
    """Serial-number arithmetic (RFC 1982): the integer nearest ``reference`` congruent to
    ``value`` modulo 2**bits. Internally TSNs and SSNs never wrap."""
    half = 1 << (bits - 1)
    return reference + ((value - reference + half) & ((1 << bits) - 1)) - half


@dataclass(frozen=True, slots=True)
class Assembled:
    ppid: int
    data: bytes
    unordered: bool
    cost: int


@dataclass(slots=True)
class _Group:
    chunks: dict[int, DataChunk] = field(default_factory=dict)
    first: int | None = None
    last: int | None = None
    size: int = 0
    discarded: bool = False

    def complete(self) -> bool:
        return (
            self.first is not None
            and self.last is not None
            and self.last - self.first + 1 == len(self.chunks)
        )


@dataclass(slots=True)
class Outcome:
    """What one input did to a stream: messages ready, buffer cost released, an error."""

    messages: list[Assembled] = field(default_factory=list)
    freed: int = 0
    error: str | None = None


# The outcome of an input that changed nothing visible; shared, so never to be modified.
NOTHING = Outcome()


def _join(chunks: dict[int, DataChunk], first: int, last: int) -> tuple[int, bytes, int]:
    parts = [chunks[t] for t in range(first, last + 1)]
    data = parts[0].user_data if len(parts) == 1 else b"".join([c.user_data for c in parts])
    return parts[0].ppid, data, len(data) + CHUNK_OVERHEAD * len(parts)


class InboundStream:
    """Reassembly state of one incoming stream."""

    __slots__ = (
        "anchors",
        "expected_ssn",
        "groups",
        "max_message_size",
        "unordered",
        "unordered_bytes",
    )

    def __init__(self, max_message_size: int) -> None:
        self.max_message_size = max_message_size
        self.expected_ssn = 0
        self.groups: dict[int, _Group] = {}
        self.unordered: dict[int, DataChunk] = {}
        # Unordered fragment TSN -> TSN of the B fragment it continues. Each fragment is
        # anchored once, so reassembly costs O(1) per fragment even for hostile orderings.
        self.anchors: dict[int, int] = {}
        self.unordered_bytes = 0

    @property
    def buffered(self) -> bool:
        return bool(self.groups or self.unordered)

    def add(self, tsn: int, chunk: DataChunk) -> Outcome:
        """File one DATA chunk. Returns the shared ``NOTHING`` when nothing came of it yet
        (the common case: a fragment stored while its message is incomplete)."""
        flags = chunk.flags
        if flags & 4:
            return self._add_unordered(tsn, chunk)
        expected = self.expected_ssn
        ssn = expected + ((chunk.stream_seq - expected + 0x8000) & 0xFFFF) - 0x8000  # unwrap()
        if ssn < expected:
            return Outcome(freed=chunk_cost(chunk))  # a fragment of a message already skipped
        group = self.groups.get(ssn)
        if group is None:
            group = self.groups[ssn] = _Group()
        if group.discarded or tsn in group.chunks:
            return Outcome(freed=chunk_cost(chunk))
        group.chunks[tsn] = chunk
        group.size += len(chunk.user_data)
        if flags & 2:
            group.first = tsn
        if flags & 1:
            group.last = tsn
        if group.size > self.max_message_size:
            out = Outcome(freed=sum(chunk_cost(c) for c in group.chunks.values()))
            group.chunks.clear()
            group.discarded = True
            out.error = f"incoming message larger than max-message-size {self.max_message_size}"
            self._deliver_ordered(out)
            return out
        if ssn != expected or group.first is None or group.last is None:
            # Only a change to the expected message can make anything deliverable.
            return NOTHING
        out = Outcome()
        self._deliver_ordered(out)
        return out

    def _deliver_ordered(self, out: Outcome) -> None:
        while (group := self.groups.get(self.expected_ssn)) is not None:
            if group.discarded:
                pass
            elif group.complete():
                assert group.first is not None and group.last is not None
                ppid, data, cost = _join(group.chunks, group.first, group.last)
                out.messages.append(Assembled(ppid, data, False, cost))
            else:
                return
            del self.groups[self.expected_ssn]
            self.expected_ssn += 1

    def _add_unordered(self, tsn: int, chunk: DataChunk) -> Outcome:
        out = Outcome()
        if chunk.beginning and chunk.end:
            out.messages.append(Assembled(chunk.ppid, chunk.user_data, True, chunk_cost(chunk)))
            return out
        table = self.unordered
        table[tsn] = chunk
        self.unordered_bytes += len(chunk.user_data)
        anchors = self.anchors
        if chunk.beginning:
            first = tsn
        elif tsn - 1 in anchors:
            first = anchors[tsn - 1]
        else:
            return self._bound_unordered(out)
        last = tsn
        while True:
            anchors[last] = first
            if table[last].end:
                break
            nxt = table.get(last + 1)
            if nxt is None or nxt.beginning:
                return self._bound_unordered(out)
            last += 1
        ppid, data, cost = _join(table, first, last)
        for t in range(first, last + 1):
            del table[t]
            del anchors[t]
        self.unordered_bytes -= len(data)
        out.messages.append(Assembled(ppid, data, True, cost))
        return out

    def _bound_unordered(self, out: Outcome) -> Outcome:
        if self.unordered_bytes > self.max_message_size:
            out.freed += sum(chunk_cost(c) for c in self.unordered.values())
            self.unordered.clear()
            self.anchors.clear()
            self.unordered_bytes = 0
            out.error = f"incoming message larger than max-message-size {self.max_message_size}"
        return out

    def forward(self, new_cumulative_tsn: int, ssn: int | None) -> Outcome:
        """Apply a FORWARD TSN: drop abandoned fragments and skip to after ``ssn``.

        Complete messages held for an earlier SSN are delivered, not dropped: RFC 3758 §3.6
        makes every SSN up to the listed one available for delivery, and only partial
        messages are removed. The sender lists the highest SSN it abandoned, and it abandons
        messages that did arrive but whose SACKs were lost (a T3 expiry abandons every
        unacknowledged maxRetransmits=0 message), so the stream behind them is often full of
        complete messages."""
        out = Outcome()
        for t in [t for t in self.unordered if t <= new_cumulative_tsn]:
            chunk = self.unordered.pop(t)
            self.anchors.pop(t, None)
            self.unordered_bytes -= len(chunk.user_data)
            out.freed += chunk_cost(chunk)
        if ssn is not None:
            ssn = unwrap(ssn, self.expected_ssn, 16)
            for s in sorted(s for s in self.groups if s <= ssn):
                group = self.groups.pop(s)
                if not group.discarded and group.complete():
                    assert group.first is not None and group.last is not None
                    ppid, data, cost = _join(group.chunks, group.first, group.last)
                    out.messages.append(Assembled(ppid, data, False, cost))
                else:
                    out.freed += sum(chunk_cost(c) for c in group.chunks.values())
            self.expected_ssn = max(self.expected_ssn, ssn + 1)
        self._deliver_ordered(out)
        return out

    def reset(self) -> int:
        """RFC 6525 incoming SSN reset: back to SSN 0, dropping leftovers; returns freed cost."""
        freed = sum(chunk_cost(c) for g in self.groups.values() for c in g.chunks.values())
        self.groups.clear()
        self.expected_ssn = 0
        return freed
