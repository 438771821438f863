"""The one datagram type every sans-IO machine of the library hands to its caller."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Address", "Transmit"]

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Transmit:
    """A datagram to send.

    ICE and TURN fill ``destination`` and ``source`` (the local base: a socket's address, or the
    relayed address of a TURN allocation). The layers above the transport (DTLS, SCTP, media)
    leave both None, and the transport sends on the selected candidate pair.
    """

    data: bytes
    destination: Address | None = None
    source: Address | None = None

    def __init__(
        self, data: bytes, destination: Address | None = None, source: Address | None = None
    ) -> None:
        # The generated __init__ of a frozen dataclass calls object.__setattr__ per field
        # (~570 ns for three, keywords); the slots' own setters cost less than half. One is
        # made per datagram sent.
        _set_data(self, data)
        _set_destination(self, destination)
        _set_source(self, source)


_set_data = Transmit.__dict__["data"].__set__
_set_destination = Transmit.__dict__["destination"].__set__
_set_source = Transmit.__dict__["source"].__set__
