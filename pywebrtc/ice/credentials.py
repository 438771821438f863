"""ICE credentials: the username fragment and password (RFC 8445 §5.3, RFC 8839 §5.4).

Both are made of ICE characters (``A-Z a-z 0-9 + /``). The ufrag is 4–256 characters and must
carry at least 24 random bits; the password 22–256 characters and at least 128 random bits.
Randomness cannot be measured from a value, so a caller that supplies its own ufrag (for example
a generator that embeds routing data) takes on that contract; here only the character set and the
length are checked, and a bad value raises :class:`InvalidCredentialError` — it is never replaced.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from pywebrtc.ice.errors import InvalidCredentialError

ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ICE_CHARS_RE = re.compile(r"[A-Za-z0-9+/]*")

# RFC 8839 §5.4: ice-ufrag 4-256 ice-chars, ice-pwd 22-256 ice-chars.
UFRAG_MIN, UFRAG_MAX = 4, 256
PWD_MIN, PWD_MAX = 22, 256
# Lengths of generated values: 8 chars = 48 random bits (RFC 8445 §5.3 asks for >= 24);
# 24 chars = 144 bits (>= 128).
DEFAULT_UFRAG_LENGTH = 8
DEFAULT_PWD_LENGTH = 24

UfragGenerator = Callable[[], str]


def _check(kind: str, value: object, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise InvalidCredentialError(f"ICE {kind} must be a str, not {type(value).__name__}")
    if not low <= len(value) <= high:
        # A password is a secret: say how long it is, never what it is.
        shown = f": {value[:40]!r}" if kind == "ufrag" else ""
        raise InvalidCredentialError(
            f"ICE {kind} must be {low}-{high} characters, got {len(value)}{shown}"
        )
    if not _ICE_CHARS_RE.fullmatch(value):
        bad = sorted({c for c in value if c not in ICE_CHARS})
        found = f", found {''.join(bad)!r}" if kind == "ufrag" else ""
        raise InvalidCredentialError(f"ICE {kind} may only hold A-Z a-z 0-9 + /{found}")
    return value


def validate_ufrag(value: object) -> str:
    """Return ``value`` if it is a valid ufrag, else raise :class:`InvalidCredentialError`."""
    return _check("ufrag", value, UFRAG_MIN, UFRAG_MAX)


def validate_pwd(value: object) -> str:
    """Return ``value`` if it is a valid password, else raise :class:`InvalidCredentialError`."""
    return _check("pwd", value, PWD_MIN, PWD_MAX)


def random_ice_string(length: int) -> str:
    """``length`` ICE characters from the OS CSPRNG (6 random bits each)."""
    # The base64 alphabet is ICE_CHARS: every 3 random bytes give 4 uniform characters, from one
    # read of the CSPRNG (secrets.choice per character reads it once per character).
    return base64.b64encode(secrets.token_bytes(3 * -(-length // 4))).decode()[:length]


@dataclass(frozen=True, slots=True)
class Credentials:
    """One side's ufrag and password; validated on construction.

    The password is the STUN short-term key (RFC 8489 §9.1): it is left out of ``repr`` so that
    logs and tracebacks that print credentials do not leak it.
    """

    ufrag: str
    pwd: str = field(repr=False)

    def __post_init__(self) -> None:
        validate_ufrag(self.ufrag)
        validate_pwd(self.pwd)

    @classmethod
    def generate(cls, ufrag_generator: Callable[[], object] | None = None) -> Credentials:
        """Fresh credentials; the ufrag from ``ufrag_generator`` when given (and validated)."""
        # object, not str (UfragGenerator): the user's generator may return anything and
        # validate_ufrag says what is wrong with it; compiled with mypyc, a str would be
        # checked first and raise TypeError.
        ufrag: object = (
            ufrag_generator() if ufrag_generator is not None
            else random_ice_string(DEFAULT_UFRAG_LENGTH)
        )
        return cls(validate_ufrag(ufrag), random_ice_string(DEFAULT_PWD_LENGTH))
