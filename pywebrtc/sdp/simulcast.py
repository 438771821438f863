"""Typed values of ``a=rid`` (RFC 8851 §4, §10) and ``a=simulcast`` (RFC 8853 §5.1).

Left out: the old draft ``a=simulcast: send rid=...`` form (pre RFC 8853), which raises
:class:`SdpParseError`, and the meaning of rid restrictions, kept as ``(name, value)`` pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from pywebrtc.sdp._syntax import check_token, parse_int, split_words
from pywebrtc.sdp.errors import SdpParseError

__all__ = ["Rid", "Simulcast", "SimulcastStream"]

_RID_ID = re.compile(r"[A-Za-z0-9_-]+")  # RFC 8851 §10 rid-id
_MAX_PT = 127


def _rid_id(text: str, what: str) -> str:
    if not _RID_ID.fullmatch(text):
        raise SdpParseError(f"{what}: bad rid {text[:20]!r}")
    return text


@dataclass(frozen=True, slots=True)
class SimulcastStream:
    """One alternative in a simulcast list: a rid, maybe paused (``~``)."""

    rid: str
    paused: bool = False

    def __str__(self) -> str:
        return f"~{self.rid}" if self.paused else self.rid


Alternatives = tuple[SimulcastStream, ...]


def _streams(text: str) -> tuple[Alternatives, ...]:
    streams: list[Alternatives] = []
    for alternatives in text.split(";"):
        choice: list[SimulcastStream] = []
        for item in alternatives.split(","):
            paused = item.startswith("~")
            choice.append(
                SimulcastStream(_rid_id(item[1:] if paused else item, "a=simulcast"), paused)
            )
        streams.append(tuple(choice))
    return tuple(streams)


def _format_streams(streams: tuple[Alternatives, ...]) -> str:
    return ";".join(",".join(str(s) for s in alternatives) for alternatives in streams)


@dataclass(frozen=True, slots=True)
class Simulcast:
    """``a=simulcast:send <streams> recv <streams>`` (RFC 8853 §5.1).

    Each direction is a tuple of streams; each stream a tuple of alternative rids (``,`` on
    the wire), the streams separated by ``;``. An empty tuple means that direction is absent.
    """

    NAME: ClassVar[str] = "simulcast"

    send: tuple[Alternatives, ...] = field(default=())
    recv: tuple[Alternatives, ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> Simulcast:
        words = split_words(value)
        if len(words) not in (2, 4):
            raise SdpParseError("a=simulcast: expected send/recv followed by a stream list")
        found: dict[str, tuple[Alternatives, ...]] = {}
        for index in range(0, len(words), 2):
            direction = words[index]
            if direction not in ("send", "recv") or direction in found:
                raise SdpParseError(f"a=simulcast: bad direction {direction[:20]!r}")
            found[direction] = _streams(words[index + 1])
        return cls(found.get("send", ()), found.get("recv", ()))

    def __str__(self) -> str:
        parts: list[str] = []
        if self.send:
            parts += ["send", _format_streams(self.send)]
        if self.recv:
            parts += ["recv", _format_streams(self.recv)]
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Rid:
    """``a=rid:<id> <send|recv> [pt=<fmt>,...;]<restriction>=<value>;...`` (RFC 8851 §10)."""

    NAME: ClassVar[str] = "rid"

    id: str
    direction: str
    payload_types: tuple[int, ...] = field(default=())
    restrictions: tuple[tuple[str, str | None], ...] = field(default=())

    @classmethod
    def parse(cls, value: str) -> Rid:
        words = split_words(value)
        if len(words) not in (2, 3):
            raise SdpParseError("a=rid: expected <id> <direction> [<restrictions>]")
        if words[1] not in ("send", "recv"):
            raise SdpParseError(f"a=rid: bad direction {words[1][:20]!r}")
        payload_types: tuple[int, ...] = ()
        restrictions: list[tuple[str, str | None]] = []
        params = words[2].split(";") if len(words) == 3 else []
        for index, param in enumerate(params):
            name, equals, param_value = param.partition("=")
            check_token(name, "a=rid restriction")
            if name == "pt":
                # RFC 8851 §10: the format list, if any, comes first, once.
                if index != 0:
                    raise SdpParseError("a=rid: pt= must be the first restriction")
                payload_types = tuple(
                    parse_int(pt, "a=rid pt", 0, _MAX_PT) for pt in param_value.split(",")
                )
                continue
            restrictions.append((name, param_value if equals else None))
        return cls(_rid_id(words[0], "a=rid"), words[1], payload_types, tuple(restrictions))

    def __str__(self) -> str:
        params: list[str] = []
        if self.payload_types:
            params.append("pt=" + ",".join(str(pt) for pt in self.payload_types))
        params += [k if v is None else f"{k}={v}" for k, v in self.restrictions]
        text = f"{self.id} {self.direction}"
        return f"{text} {';'.join(params)}" if params else text
