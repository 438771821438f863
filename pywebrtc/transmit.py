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
