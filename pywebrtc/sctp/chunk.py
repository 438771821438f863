"""SCTP chunks and their parameters (RFC 9260 §3.2-3.3, RFC 3758 §3, RFC 6525 §3-4,
RFC 5061 §4.2.7 supported-extensions).

One frozen dataclass per chunk type; ``parse_chunks`` splits a packet body. Chunk type numbers
we do not know are kept as ``UnknownChunk`` so that the association can apply the
"upper two bits" rule of RFC 9260 §3.2. I-DATA (RFC 8260), ASCONF, AUTH and ECN are not
implemented.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self

from pywebrtc.sctp.errors import MalformedPacket

# Chunk types, RFC 9260 §3.2 / RFC 6525 §3.1 / RFC 3758 §3.2.
DATA = 0
INIT = 1
INIT_ACK = 2
SACK = 3
HEARTBEAT = 4
HEARTBEAT_ACK = 5
ABORT = 6
SHUTDOWN = 7
SHUTDOWN_ACK = 8
ERROR = 9
COOKIE_ECHO = 10
COOKIE_ACK = 11
SHUTDOWN_COMPLETE = 14
RECONFIG = 130
FORWARD_TSN = 192

# Parameter types.
PARAM_HEARTBEAT_INFO = 1  # RFC 9260 §3.3.5
PARAM_STATE_COOKIE = 7  # RFC 9260 §3.3.3.1
PARAM_UNRECOGNIZED = 8
PARAM_OUTGOING_RESET = 13  # RFC 6525 §4.1
PARAM_INCOMING_RESET = 14  # RFC 6525 §4.2
PARAM_RECONFIG_RESPONSE = 16  # RFC 6525 §4.4
PARAM_SUPPORTED_EXTENSIONS = 0x8008  # RFC 5061 §4.2.7
PARAM_FORWARD_TSN_SUPPORTED = 0xC000  # RFC 3758 §3.1

# Error cause codes, RFC 9260 §3.3.10.
CAUSE_PROTOCOL_VIOLATION = 13
CAUSE_USER_ABORT = 12
CAUSE_UNRECOGNIZED_CHUNK = 6

_HDR = struct.Struct("!BBH")
_DATA_FIELDS = struct.Struct("!BBHIHHI")


def pad4(n: int) -> int:
    return (n + 3) & ~3


def _chunk(type_: int, flags: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return _HDR.pack(type_, flags, length) + value + b"\x00" * (pad4(length) - length)


@dataclass(frozen=True, slots=True)
class Param:
    """A type-length-value parameter (RFC 9260 §3.2.1)."""

    type: int
    value: bytes

    def __bytes__(self) -> bytes:
        length = 4 + len(self.value)
        return (
            struct.pack("!HH", self.type, length) + self.value + b"\x00" * (pad4(length) - length)
        )


def parse_params(data: bytes) -> list[Param]:
    params = []
    pos = 0
    while pos + 4 <= len(data):
        ptype, length = struct.unpack_from("!HH", data, pos)
        if length < 4 or pos + length > len(data):
            raise MalformedPacket(f"parameter {ptype} has bad length {length}")
        params.append(Param(ptype, bytes(data[pos + 4 : pos + length])))
        pos += pad4(length)
    if pos < len(data) and any(data[pos:]):
        raise MalformedPacket("trailing bytes after parameters")
    return params


def encode_params(params: list[Param] | tuple[Param, ...]) -> bytes:
    return b"".join(bytes(p) for p in params)


@dataclass(frozen=True, slots=True)
class DataChunk:
    """DATA (RFC 9260 §3.3.1). ``flags``: I=8 (immediate), U=4 (unordered), B=2, E=1."""

    TYPE: ClassVar[int] = DATA
    flags: int
    tsn: int
    stream_id: int
    stream_seq: int
    ppid: int
    user_data: bytes

    @property
    def unordered(self) -> bool:
        return bool(self.flags & 4)

    @property
    def beginning(self) -> bool:
        return bool(self.flags & 2)

    @property
    def end(self) -> bool:
        return bool(self.flags & 1)

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        if len(value) < 12:
            raise MalformedPacket("DATA chunk too short")
        tsn, sid, ssn, ppid = struct.unpack_from("!IHHI", value)
        return cls(flags, tsn, sid, ssn, ppid, bytes(value[12:]))

    def __bytes__(self) -> bytes:
        return _chunk(
            DATA,
            self.flags,
            struct.pack("!IHHI", self.tsn, self.stream_id, self.stream_seq, self.ppid)
            + self.user_data,
        )


@dataclass(frozen=True, slots=True)
class InitChunk:
    """INIT (RFC 9260 §3.3.2); INIT-ACK shares the layout (§3.3.3)."""

    TYPE: ClassVar[int] = INIT
    initiate_tag: int
    a_rwnd: int
    outbound_streams: int
    inbound_streams: int
    initial_tsn: int
    params: tuple[Param, ...] = ()

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        if len(value) < 16:
            raise MalformedPacket(f"{cls.__name__} too short")
        tag, rwnd, out_s, in_s, tsn = struct.unpack_from("!IIHHI", value)
        return cls(tag, rwnd, out_s, in_s, tsn, tuple(parse_params(value[16:])))

    def __bytes__(self) -> bytes:
        return _chunk(
            self.TYPE,
            0,
            struct.pack(
                "!IIHHI",
                self.initiate_tag,
                self.a_rwnd,
                self.outbound_streams,
                self.inbound_streams,
                self.initial_tsn,
            )
            + encode_params(self.params),
        )

    def param(self, ptype: int) -> Param | None:
        for p in self.params:
            if p.type == ptype:
                return p
        return None


@dataclass(frozen=True, slots=True)
class InitAckChunk(InitChunk):
    TYPE: ClassVar[int] = INIT_ACK


@dataclass(frozen=True, slots=True)
class SackChunk:
    """SACK (RFC 9260 §3.3.4); gap blocks are (start, end) offsets from ``cumulative_tsn``."""

    TYPE: ClassVar[int] = SACK
    cumulative_tsn: int
    a_rwnd: int
    gaps: tuple[tuple[int, int], ...] = ()
    duplicates: tuple[int, ...] = ()

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        if len(value) < 12:
            raise MalformedPacket("SACK too short")
        cum, rwnd, ngaps, ndups = struct.unpack_from("!IIHH", value)
        if len(value) < 12 + 4 * ngaps + 4 * ndups:
            raise MalformedPacket("SACK truncated")
        g = struct.unpack_from(f"!{2 * ngaps}H", value, 12)
        dups = struct.unpack_from(f"!{ndups}I", value, 12 + 4 * ngaps)
        return cls(cum, rwnd, tuple(zip(g[0::2], g[1::2], strict=True)), tuple(dups))

    def __bytes__(self) -> bytes:
        flat = [x for g in self.gaps for x in g]
        return _chunk(
            SACK,
            0,
            struct.pack(
                "!IIHH", self.cumulative_tsn, self.a_rwnd, len(self.gaps), len(self.duplicates)
            )
            + struct.pack(f"!{len(flat)}H", *flat)
            + struct.pack(f"!{len(self.duplicates)}I", *self.duplicates),
        )


@dataclass(frozen=True, slots=True)
class HeartbeatChunk:
    """HEARTBEAT (RFC 9260 §3.3.5); ``info`` is the opaque Heartbeat Info parameter value."""

    TYPE: ClassVar[int] = HEARTBEAT
    info: bytes

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        params = parse_params(value)
        if not params or params[0].type != PARAM_HEARTBEAT_INFO:
            raise MalformedPacket(f"{cls.__name__} without Heartbeat Info")
        return cls(params[0].value)

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, bytes(Param(PARAM_HEARTBEAT_INFO, self.info)))


@dataclass(frozen=True, slots=True)
class HeartbeatAckChunk(HeartbeatChunk):
    TYPE: ClassVar[int] = HEARTBEAT_ACK


@dataclass(frozen=True, slots=True)
class ErrorCause:
    """An error cause (RFC 9260 §3.3.10)."""

    code: int
    info: bytes = b""

    def __bytes__(self) -> bytes:
        return bytes(Param(self.code, self.info))


def _parse_causes(value: bytes) -> tuple[ErrorCause, ...]:
    return tuple(ErrorCause(p.type, p.value) for p in parse_params(value))


@dataclass(frozen=True, slots=True)
class AbortChunk:
    """ABORT (RFC 9260 §3.3.7); T flag set means the verification tag is reflected."""

    TYPE: ClassVar[int] = ABORT
    reflected: bool = False
    causes: tuple[ErrorCause, ...] = ()

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        return cls(bool(flags & 1), _parse_causes(value))

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, int(self.reflected), b"".join(bytes(c) for c in self.causes))

    def reason(self) -> str:
        parts = []
        for c in self.causes:
            text = c.info.decode("utf-8", "replace") if c.code in (12, 13) else c.info.hex()
            parts.append(f"cause {c.code}" + (f": {text}" if text else ""))
        return "; ".join(parts) or "no cause given"


@dataclass(frozen=True, slots=True)
class ErrorChunk:
    """ERROR (RFC 9260 §3.3.10)."""

    TYPE: ClassVar[int] = ERROR
    causes: tuple[ErrorCause, ...] = ()

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        return cls(_parse_causes(value))

    def __bytes__(self) -> bytes:
        return _chunk(ERROR, 0, b"".join(bytes(c) for c in self.causes))


@dataclass(frozen=True, slots=True)
class ShutdownChunk:
    """SHUTDOWN (RFC 9260 §3.3.8)."""

    TYPE: ClassVar[int] = SHUTDOWN
    cumulative_tsn: int

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        if len(value) != 4:
            raise MalformedPacket("SHUTDOWN must carry exactly a TSN")
        return cls(struct.unpack("!I", value)[0])

    def __bytes__(self) -> bytes:
        return _chunk(SHUTDOWN, 0, struct.pack("!I", self.cumulative_tsn))


@dataclass(frozen=True, slots=True)
class _EmptyChunk:
    TYPE: ClassVar[int] = -1

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        return cls()

    def __bytes__(self) -> bytes:
        return _chunk(self.TYPE, 0, b"")


@dataclass(frozen=True, slots=True)
class ShutdownAckChunk(_EmptyChunk):
    TYPE: ClassVar[int] = SHUTDOWN_ACK


@dataclass(frozen=True, slots=True)
class CookieAckChunk(_EmptyChunk):
    TYPE: ClassVar[int] = COOKIE_ACK


@dataclass(frozen=True, slots=True)
class ShutdownCompleteChunk:
    TYPE: ClassVar[int] = SHUTDOWN_COMPLETE
    reflected: bool = False

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        return cls(bool(flags & 1))

    def __bytes__(self) -> bytes:
        return _chunk(SHUTDOWN_COMPLETE, int(self.reflected), b"")


@dataclass(frozen=True, slots=True)
class CookieEchoChunk:
    """COOKIE ECHO (RFC 9260 §3.3.11)."""

    TYPE: ClassVar[int] = COOKIE_ECHO
    cookie: bytes

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        return cls(bytes(value))

    def __bytes__(self) -> bytes:
        return _chunk(COOKIE_ECHO, 0, self.cookie)


@dataclass(frozen=True, slots=True)
class ForwardTsnChunk:
    """FORWARD TSN (RFC 3758 §3.2): new cumulative TSN and (stream, ssn) pairs."""

    TYPE: ClassVar[int] = FORWARD_TSN
    new_cumulative_tsn: int
    streams: tuple[tuple[int, int], ...] = ()

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        if len(value) < 4 or len(value) % 4:
            raise MalformedPacket("FORWARD TSN has bad length")
        n = (len(value) - 4) // 4
        flat = struct.unpack_from(f"!I{2 * n}H", value)
        return cls(flat[0], tuple(zip(flat[1::2], flat[2::2], strict=True)))

    def __bytes__(self) -> bytes:
        flat = [x for s in self.streams for x in s]
        return _chunk(
            FORWARD_TSN, 0, struct.pack(f"!I{len(flat)}H", self.new_cumulative_tsn, *flat)
        )


@dataclass(frozen=True, slots=True)
class OutgoingResetRequest:
    """Outgoing SSN Reset Request parameter (RFC 6525 §4.1)."""

    request_seq: int
    response_seq: int
    last_tsn: int
    streams: tuple[int, ...] = ()

    def to_param(self) -> Param:
        return Param(
            PARAM_OUTGOING_RESET,
            struct.pack(
                f"!III{len(self.streams)}H",
                self.request_seq,
                self.response_seq,
                self.last_tsn,
                *self.streams,
            ),
        )

    @classmethod
    def from_param(cls, p: Param) -> Self:
        v = p.value
        if len(v) < 12 or len(v) % 2:
            raise MalformedPacket("Outgoing SSN Reset Request has bad length")
        n = (len(v) - 12) // 2
        req, resp, last, *streams = struct.unpack(f"!III{n}H", v)
        return cls(req, resp, last, tuple(streams))


@dataclass(frozen=True, slots=True)
class IncomingResetRequest:
    """Incoming SSN Reset Request parameter (RFC 6525 §4.2)."""

    request_seq: int
    streams: tuple[int, ...] = ()

    def to_param(self) -> Param:
        n = len(self.streams)
        return Param(PARAM_INCOMING_RESET, struct.pack(f"!I{n}H", self.request_seq, *self.streams))

    @classmethod
    def from_param(cls, p: Param) -> Self:
        v = p.value
        if len(v) < 4 or len(v) % 2:
            raise MalformedPacket("Incoming SSN Reset Request has bad length")
        req, *streams = struct.unpack(f"!I{(len(v) - 4) // 2}H", v)
        return cls(req, tuple(streams))


# Re-configuration Response results, RFC 6525 §4.4.
RESULT_SUCCESS_NOTHING = 0
RESULT_SUCCESS_PERFORMED = 1
RESULT_DENIED = 2
RESULT_ERROR_BAD_SEQ = 5
RESULT_IN_PROGRESS = 6


@dataclass(frozen=True, slots=True)
class ReconfigResponse:
    """Re-configuration Response parameter (RFC 6525 §4.4), without the optional TSNs."""

    response_seq: int
    result: int

    def to_param(self) -> Param:
        return Param(PARAM_RECONFIG_RESPONSE, struct.pack("!II", self.response_seq, self.result))

    @classmethod
    def from_param(cls, p: Param) -> Self:
        if len(p.value) not in (8, 16):
            raise MalformedPacket("Re-configuration Response has bad length")
        return cls(*struct.unpack_from("!II", p.value))


ReconfigParam = OutgoingResetRequest | IncomingResetRequest | ReconfigResponse


@dataclass(frozen=True, slots=True)
class ReconfigChunk:
    """RE-CONFIG (RFC 6525 §3.1): one or two re-configuration parameters."""

    TYPE: ClassVar[int] = RECONFIG
    params: tuple[ReconfigParam | Param, ...] = field(default=())

    @classmethod
    def parse_value(cls, flags: int, value: bytes) -> Self:
        out: list[ReconfigParam | Param] = []
        for p in parse_params(value):
            if p.type == PARAM_OUTGOING_RESET:
                out.append(OutgoingResetRequest.from_param(p))
            elif p.type == PARAM_INCOMING_RESET:
                out.append(IncomingResetRequest.from_param(p))
            elif p.type == PARAM_RECONFIG_RESPONSE:
                out.append(ReconfigResponse.from_param(p))
            else:
                out.append(p)
        if not out or len(out) > 2:
            raise MalformedPacket("RE-CONFIG must carry one or two parameters")
        return cls(tuple(out))

    def __bytes__(self) -> bytes:
        return _chunk(
            RECONFIG,
            0,
            b"".join(bytes(p if isinstance(p, Param) else p.to_param()) for p in self.params),
        )


@dataclass(frozen=True, slots=True)
class UnknownChunk:
    """A chunk type we do not implement, kept for RFC 9260 §3.2's upper-bits rule."""

    type: int
    flags: int
    value: bytes

    def __bytes__(self) -> bytes:
        return _chunk(self.type, self.flags, self.value)


Chunk = (
    DataChunk
    | InitChunk
    | SackChunk
    | HeartbeatChunk
    | AbortChunk
    | ErrorChunk
    | ShutdownChunk
    | ShutdownAckChunk
    | CookieAckChunk
    | ShutdownCompleteChunk
    | CookieEchoChunk
    | ForwardTsnChunk
    | ReconfigChunk
    | UnknownChunk
)

_PARSERS: dict[int, type[Chunk]] = {
    c.TYPE: c
    for c in (
        DataChunk,
        InitChunk,
        InitAckChunk,
        SackChunk,
        HeartbeatChunk,
        HeartbeatAckChunk,
        AbortChunk,
        ErrorChunk,
        ShutdownChunk,
        ShutdownAckChunk,
        CookieAckChunk,
        ShutdownCompleteChunk,
        CookieEchoChunk,
        ForwardTsnChunk,
        ReconfigChunk,
    )
}


def parse_chunk(data: bytes) -> Chunk:
    """Parse exactly one chunk (padding allowed)."""
    chunks = parse_chunks(data)
    if len(chunks) != 1:
        raise MalformedPacket(f"expected one chunk, found {len(chunks)}")
    return chunks[0]


def parse_chunks(data: bytes | memoryview, offset: int = 0) -> list[Chunk]:
    """Split a packet body into chunks (RFC 9260 §3.2)."""
    chunks: list[Chunk] = []
    n = len(data)
    pos = offset
    while pos < n:
        if pos + 4 > n:
            raise MalformedPacket("truncated chunk header")
        ctype, flags, length = _HDR.unpack_from(data, pos)
        if length < 4 or pos + length > n:
            raise MalformedPacket(f"chunk type {ctype} has bad length {length}")
        if ctype == DATA and length >= 16:
            # The hot path: one unpack, one copy of the user data.
            _, _, _, tsn, sid, ssn, ppid = _DATA_FIELDS.unpack_from(data, pos)
            chunks.append(
                DataChunk(flags, tsn, sid, ssn, ppid, bytes(data[pos + 16 : pos + length]))
            )
            pos += (length + 3) & ~3
            continue
        value = bytes(data[pos + 4 : pos + length])
        parser = _PARSERS.get(ctype)
        if parser is None:
            chunks.append(UnknownChunk(ctype, flags, value))
        else:
            try:
                chunks.append(parser.parse_value(flags, value))  # type: ignore[union-attr]
            except struct.error as exc:
                raise MalformedPacket(f"chunk type {ctype}: {exc}") from None
        pos += pad4(length)
        if pos > n:
            # The last chunk's padding may be omitted by some stacks; accept it.
            break
    return chunks
