"""The W3C errors (WebIDL ``DOMException`` names) the public API raises, each defined once.

The four that aiortc defines (``InternalError``, ``InvalidAccessError``, ``InvalidStateError``,
``OperationError``) have aiortc's names and bases (``Exception``), and ``MediaStreamError`` is
aiortc's ``mediastreams.MediaStreamError``: code ported from aiortc catches the same things.
Where aiortc raises a plain ``ValueError`` (bad SDP, ``setCodecPreferences``, DTMF tones), ours
is a ``ValueError`` subclass with the W3C name, so ``except ValueError`` still works.

Parse errors of the protocol packages (``StunParseError``, ``SdpParseError``, ``DtlsError`` …)
are not here: they stay with their package, rooted in ``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "InternalError",
    "InvalidAccessError",
    "InvalidCharacterError",
    "InvalidDescriptionError",
    "InvalidModificationError",
    "InvalidStateError",
    "MediaStreamError",
    "OperationError",
]


class InternalError(Exception):
    """W3C InternalError: an operation failed for a reason of ours, not the caller's."""


class InvalidAccessError(Exception):
    """W3C InvalidAccessError (e.g. a candidate for an m-section that does not exist)."""


class InvalidStateError(Exception):
    """W3C InvalidStateError: a call the object's current state does not allow (a closed peer
    connection, a data channel that is not open, an answer in ``stable`` …)."""


class OperationError(Exception):
    """W3C OperationError: an operation that could not be carried out."""


class MediaStreamError(Exception):
    """A track has ended: ``recv()`` on a stopped track (aiortc's ``MediaStreamError``)."""


class InvalidDescriptionError(ValueError):
    """A remote session description that cannot be applied (bad SDP or bad JSEP content)."""


class InvalidModificationError(ValueError):
    """W3C InvalidModificationError (setCodecPreferences with a codec we do not have)."""


class InvalidCharacterError(ValueError):
    """W3C InvalidCharacterError: a DTMF tone that is not 0-9, A-D, #, * or ','."""
