"""Transport-wide congestion control feedback
(draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): transport-layer feedback, FMT 15.

Implements the full message: base sequence number, packet status count, 24-bit signed reference
time (multiples of 64 ms), feedback packet count, run-length chunks and status vector chunks
(14 one-bit or 7 two-bit symbols), and receive deltas in 250 µs units (one unsigned byte for
"small", two signed bytes for "large or negative"). Symbol 3 is reserved and rejected.

:meth:`TransportCcFeedback.from_arrivals` builds a valid message from ``(sequence number,
arrival time or None)`` pairs, and :meth:`TransportCcFeedback.packets` reads them back.
Left out: splitting feedback that does not fit one message (a delta beyond ±8.19 s or more than
65535 statuses raises :class:`ValueError`); the caller sends several messages instead.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, Self

from .._fast import fast_constructor
from ..errors import RtcpParseError
from .common import RTPFB, pack_header, split_single

__all__ = [
    "DELTA_UNIT_SECONDS",
    "REFERENCE_TIME_UNIT_SECONDS",
    "STATUS_LARGE_DELTA",
    "STATUS_NOT_RECEIVED",
    "STATUS_SMALL_DELTA",
    "TWCC_FMT",
    "PacketChunk",
    "RunLengthChunk",
    "StatusVectorChunk",
    "TransportCcFeedback",
]

TWCC_FMT = 15  # draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1
# Packet status symbols, §3.1.1
STATUS_NOT_RECEIVED = 0
STATUS_SMALL_DELTA = 1
STATUS_LARGE_DELTA = 2
_STATUS_RESERVED = 3
_DELTA_UNIT_US = 250  # §3.1.5
_REFERENCE_TIME_UNIT_US = 64_000  # §3.1
DELTA_UNIT_SECONDS = _DELTA_UNIT_US / 1e6
REFERENCE_TIME_UNIT_SECONDS = _REFERENCE_TIME_UNIT_US / 1e6
_MAX_RUN_LENGTH = 0x1FFF  # 13 bits, §3.1.3
_ONE_BIT_SYMBOLS = 14  # §3.1.4
_TWO_BIT_SYMBOLS = 7

_FIXED = struct.Struct("!IIHHI")
_U16 = struct.Struct("!H")
_S16 = struct.Struct("!h")


class RunLengthChunk(NamedTuple):
    """``run_length`` packets in a row with the same ``status`` (§3.1.3)."""

    status: int
    run_length: int


class StatusVectorChunk(NamedTuple):
    """Explicit statuses (§3.1.4): 14 symbols of 1 bit or 7 symbols of 2 bits."""

    symbol_size: int
    symbols: tuple[int, ...]


PacketChunk = RunLengthChunk | StatusVectorChunk


def _chunk_word(chunk: PacketChunk) -> int:
    if isinstance(chunk, RunLengthChunk):
        if not 0 <= chunk.status <= STATUS_LARGE_DELTA:
            raise ValueError(f"invalid TWCC status {chunk.status}")
        if not 1 <= chunk.run_length <= _MAX_RUN_LENGTH:
            raise ValueError("TWCC run length must be 1-8191")
        return (chunk.status << 13) | chunk.run_length
    word = 0
    if chunk.symbol_size == 1:
        if len(chunk.symbols) != _ONE_BIT_SYMBOLS or any(s not in (0, 1) for s in chunk.symbols):
            raise ValueError("a one-bit TWCC status vector has 14 symbols of 0 or 1")
        for s in chunk.symbols:
            word = (word << 1) | s
        return 0x8000 | word
    if chunk.symbol_size == 2:
        if len(chunk.symbols) != _TWO_BIT_SYMBOLS or any(
            not 0 <= s <= STATUS_LARGE_DELTA for s in chunk.symbols
        ):
            raise ValueError("a two-bit TWCC status vector has 7 symbols of 0-2")
        for s in chunk.symbols:
            word = (word << 2) | s
        return 0xC000 | word
    raise ValueError("TWCC status vector symbol size must be 1 or 2")


def _parse_chunk(word: int) -> PacketChunk:
    if not word & 0x8000:
        status = (word >> 13) & 0x3
        run_length = word & _MAX_RUN_LENGTH
        if status == _STATUS_RESERVED:
            raise RtcpParseError("TWCC run-length chunk uses the reserved status")
        if run_length == 0:
            raise RtcpParseError("TWCC run-length chunk has a zero run length")
        return RunLengthChunk(status, run_length)
    if not word & 0x4000:
        return StatusVectorChunk(1, tuple((word >> shift) & 1 for shift in range(13, -1, -1)))
    symbols = tuple((word >> shift) & 3 for shift in range(12, -1, -2))
    if _STATUS_RESERVED in symbols:
        raise RtcpParseError("TWCC status vector uses the reserved status")
    return StatusVectorChunk(2, symbols)


_CHUNK_CACHE_SIZE = 4096
_chunk_cache: dict[int, tuple[PacketChunk, int, int]] = {}


def _decode_chunk(word: int) -> tuple[PacketChunk, int, int]:
    """``(chunk, symbols covered, count of 1-symbols)``, memoized: chunks are immutable and
    the same few words (runs of "received", all-received vectors) recur in every feedback."""
    chunk = _parse_chunk(word)
    entry: tuple[PacketChunk, int, int]
    if isinstance(chunk, RunLengthChunk):
        entry = (chunk, chunk.run_length, 0)
    else:
        entry = (chunk, len(chunk.symbols), chunk.symbols.count(1))
    if len(_chunk_cache) < _CHUNK_CACHE_SIZE:
        _chunk_cache[word] = entry
    return entry


def _statuses(chunks: Iterable[PacketChunk], status_count: int) -> list[int]:
    """The first ``status_count`` symbols the chunks describe (fewer if they run short)."""
    out: list[int] = []
    for chunk in chunks:
        if isinstance(chunk, RunLengthChunk):
            out.extend([chunk.status] * chunk.run_length)
        else:
            out.extend(chunk.symbols)
        if len(out) >= status_count:
            break
    del out[status_count:]
    return out


def _encode_chunks(statuses: list[int]) -> list[PacketChunk]:
    """Greedy chunking: long runs as run-length chunks, the rest as the densest vector."""
    chunks: list[PacketChunk] = []
    n = len(statuses)
    i = 0
    while i < n:
        status = statuses[i]
        run = 1
        while i + run < n and statuses[i + run] == status and run < _MAX_RUN_LENGTH:
            run += 1
        if run >= _ONE_BIT_SYMBOLS:
            chunks.append(RunLengthChunk(status, run))
            i += run
            continue
        window = statuses[i : i + _ONE_BIT_SYMBOLS]
        if max(window) <= STATUS_SMALL_DELTA:
            window += [0] * (_ONE_BIT_SYMBOLS - len(window))
            chunks.append(StatusVectorChunk(1, tuple(window)))
            i += _ONE_BIT_SYMBOLS
        elif run >= _TWO_BIT_SYMBOLS:
            chunks.append(RunLengthChunk(status, run))
            i += run
        else:
            window = statuses[i : i + _TWO_BIT_SYMBOLS]
            window += [0] * (_TWO_BIT_SYMBOLS - len(window))
            chunks.append(StatusVectorChunk(2, tuple(window)))
            i += _TWO_BIT_SYMBOLS
    return chunks


@dataclass(frozen=True, slots=True)
class TransportCcFeedback:
    """Transport-wide CC feedback.

    ``reference_time`` is the signed 24-bit field (units of 64 ms); ``deltas`` holds one receive
    delta per received packet, in 250 µs units, each relative to the previous received packet
    (the first to the reference time).
    """

    sender_ssrc: int
    media_ssrc: int
    base_sequence: int
    status_count: int
    reference_time: int
    feedback_count: int
    chunks: tuple[PacketChunk, ...] = ()
    deltas: tuple[int, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        _, start, end = split_single(data, RTPFB, TWCC_FMT)
        return cls._parse_body(data, start, end, TWCC_FMT)

    @classmethod
    def _parse_body(cls, data: bytes, start: int, end: int, count: int) -> Self:
        if end - start < 16:
            raise RtcpParseError("TWCC feedback is shorter than its fixed fields")
        sender, media, base, status_count, word_fb = _FIXED.unpack_from(data, start)
        reference_time = word_fb >> 8
        if reference_time & 0x800000:
            reference_time -= 0x1000000
        pos = start + 16
        chunks: list[PacketChunk] = []
        # Received packets as (status, how many in a row): deltas are then read a run at a time.
        segments: list[list[int]] = [[STATUS_NOT_RECEIVED, 0]]
        covered = 0
        while covered < status_count:
            if pos + 2 > end:
                raise RtcpParseError("TWCC packet chunks are truncated")
            word = data[pos] << 8 | data[pos + 1]
            pos += 2
            cached = _chunk_cache.get(word)
            if cached is None:
                cached = _decode_chunk(word)
            chunk, size, ones = cached
            chunks.append(chunk)
            take = status_count - covered
            if take > size:
                take = size
            covered += size
            if isinstance(chunk, RunLengthChunk):
                if chunk.status:
                    if segments[-1][0] == chunk.status:
                        segments[-1][1] += take
                    else:
                        segments.append([chunk.status, take])
            elif chunk.symbol_size == 1:
                if take < size:
                    ones = chunk.symbols[:take].count(1)
                if ones:
                    if segments[-1][0] == STATUS_SMALL_DELTA:
                        segments[-1][1] += ones
                    else:
                        segments.append([STATUS_SMALL_DELTA, ones])
            else:
                for status in chunk.symbols[:take]:
                    if status:
                        if segments[-1][0] == status:
                            segments[-1][1] += 1
                        else:
                            segments.append([status, 1])
        deltas: list[int] = []
        for status, n in segments:
            if status == STATUS_SMALL_DELTA:
                if pos + n > end:
                    raise RtcpParseError("TWCC receive deltas are truncated")
                deltas.extend(data[pos : pos + n])
                pos += n
            elif n:
                if pos + 2 * n > end:
                    raise RtcpParseError("TWCC receive deltas are truncated")
                deltas.extend(struct.unpack_from(f"!{n}h", data, pos))
                pos += 2 * n
        if end - pos >= 4:
            raise RtcpParseError("TWCC feedback has bytes after its receive deltas")
        return _make(
            cls, sender, media, base, status_count, reference_time, word_fb & 0xFF,
            tuple(chunks), tuple(deltas),
        )  # fmt: skip

    def __bytes__(self) -> bytes:
        if not -0x800000 <= self.reference_time <= 0x7FFFFF:
            raise ValueError("TWCC reference time must fit a signed 24-bit integer")
        if not 0 <= self.feedback_count <= 0xFF:
            raise ValueError("TWCC feedback packet count must be 0-255")
        statuses = _statuses(self.chunks, self.status_count)
        if len(statuses) < self.status_count:
            raise ValueError("TWCC chunks describe fewer packets than the status count")
        parts = []
        try:
            parts.append(
                _FIXED.pack(
                    self.sender_ssrc,
                    self.media_ssrc,
                    self.base_sequence,
                    self.status_count,
                    ((self.reference_time & 0xFFFFFF) << 8) | self.feedback_count,
                )
            )
        except struct.error as exc:
            raise ValueError(f"TWCC field out of range: {exc}") from exc
        parts.extend(_U16.pack(_chunk_word(chunk)) for chunk in self.chunks)
        received = [s for s in statuses if s != STATUS_NOT_RECEIVED]
        if len(received) != len(self.deltas):
            raise ValueError("TWCC needs exactly one delta per received packet")
        for status, delta in zip(received, self.deltas, strict=True):
            if status == STATUS_SMALL_DELTA:
                if not 0 <= delta <= 0xFF:
                    raise ValueError("a small TWCC delta must be 0-255")
                parts.append(bytes((delta,)))
            else:
                if not -0x8000 <= delta <= 0x7FFF:
                    raise ValueError("a large TWCC delta must fit a signed 16-bit integer")
                parts.append(_S16.pack(delta))
        body = b"".join(parts)
        body += bytes(-len(body) % 4)
        return pack_header(TWCC_FMT, RTPFB, len(body)) + body

    def packets(self) -> list[tuple[int, float | None]]:
        """``(sequence number, arrival time in seconds or None)`` for each reported packet.

        Arrival times are in the sender's time base: reference time * 64 ms plus the deltas.
        """
        out: list[tuple[int, float | None]] = []
        deltas = iter(self.deltas)
        time_us = self.reference_time * _REFERENCE_TIME_UNIT_US
        for i, status in enumerate(_statuses(self.chunks, self.status_count)):
            seq = (self.base_sequence + i) & 0xFFFF
            if status == STATUS_NOT_RECEIVED:
                out.append((seq, None))
            else:
                time_us += next(deltas) * _DELTA_UNIT_US
                out.append((seq, time_us / 1e6))
        return out

    @classmethod
    def from_arrivals(
        cls,
        sender_ssrc: int,
        media_ssrc: int,
        packets: Iterable[tuple[int, float | None]],
        *,
        feedback_count: int = 0,
    ) -> Self:
        """Build feedback from ``(sequence number, arrival time in seconds or None)``.

        Sequence numbers must increase (modulo 2**16, gaps allowed: missing ones are reported
        as not received). Arrival times keep 250 µs resolution. Raises :class:`ValueError`
        when the packets do not fit one message.
        """
        items = list(packets)
        if not items:
            raise ValueError("TWCC feedback needs at least one packet")
        base = items[0][0] & 0xFFFF
        offsets: list[tuple[int, int | None]] = []
        previous = -1
        for seq, arrival in items:
            offset = (seq - base) & 0xFFFF
            if offset <= previous:
                raise ValueError("TWCC sequence numbers must increase")
            previous = offset
            offsets.append((offset, None if arrival is None else round(arrival * 1e6)))
        status_count = previous + 1
        if status_count > 0xFFFF:
            raise ValueError("TWCC feedback covers at most 65535 packets")
        times = [t for _, t in offsets if t is not None]
        reference = math.floor(times[0] / _REFERENCE_TIME_UNIT_US) if times else 0
        reference_us = reference * _REFERENCE_TIME_UNIT_US
        statuses = [STATUS_NOT_RECEIVED] * status_count
        deltas: list[int] = []
        previous_ticks = 0
        for offset, time_us in offsets:
            if time_us is None:
                continue
            ticks = round((time_us - reference_us) / _DELTA_UNIT_US)
            delta = ticks - previous_ticks
            previous_ticks = ticks
            if 0 <= delta <= 0xFF:
                statuses[offset] = STATUS_SMALL_DELTA
            elif -0x8000 <= delta <= 0x7FFF:
                statuses[offset] = STATUS_LARGE_DELTA
            else:
                raise ValueError("TWCC receive delta does not fit 16 bits; split the feedback")
            deltas.append(delta)
        wrapped_reference = ((reference + 0x800000) & 0xFFFFFF) - 0x800000
        return cls(
            sender_ssrc, media_ssrc, base, status_count, wrapped_reference, feedback_count,
            tuple(_encode_chunks(statuses)), tuple(deltas),
        )  # fmt: skip


_make = fast_constructor(TransportCcFeedback)
