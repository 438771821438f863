"""Small lexical helpers shared by the SDP parsers (RFC 8866 §9 grammar pieces).

Every helper raises :class:`SdpParseError` and nothing else, so the parsers built on them keep
that promise without wrapping ``int()`` or ``ipaddress`` errors one by one.
"""

from __future__ import annotations

import re

from pywebrtc.sdp.errors import SdpParseError

# RFC 8866 §9: token-char is any visible ASCII except the tspecials below (and space).
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
# RFC 8866 §9 (non-ws-string): visible characters, UTF-8 beyond ASCII allowed.
_NON_WS = re.compile(r"[^\x00-\x20\x7f]+")
# Text fields (RFC 8866 §9 ``text``): anything but NUL, CR and LF.
_FORBIDDEN_IN_TEXT = re.compile(r"[\x00\r\n]")

# Longest decimal a field may carry; bounds int() work and its digit limit.
_MAX_DIGITS = 40


def parse_int(text: str, what: str, low: int = 0, high: int | None = None) -> int:
    """A non-negative decimal integer in ``[low, high]``."""
    # (isascii() and isdigit() together are [0-9]+, faster than the regular expression)
    if len(text) > _MAX_DIGITS or not (text.isascii() and text.isdigit()):
        raise SdpParseError(f"{what}: expected a decimal number, got {text[:50]!r}")
    value = int(text)
    if value < low or (high is not None and value > high):
        raise SdpParseError(f"{what}: {value} is out of range")
    return value


def check_token(text: str, what: str) -> str:
    if text in _TOKENS_SEEN:
        return text
    if not _TOKEN.fullmatch(text):
        raise SdpParseError(f"{what}: {text[:50]!r} is not a token")
    if len(_TOKENS_SEEN) < _TOKENS_KEPT and len(text) <= 32:
        _TOKENS_SEEN.add(text)
    return text


# Tokens found valid already: attribute names and the like, the same few in every
# description (a set lookup instead of a regular expression per line). Bounded, so that
# hostile input cannot grow it past a few KiB.
_TOKENS_SEEN: set[str] = set()
_TOKENS_KEPT = 256


def check_non_ws(text: str, what: str) -> str:
    if not _NON_WS.fullmatch(text):
        raise SdpParseError(f"{what}: {text[:50]!r} is empty or contains whitespace")
    return text


def check_text(text: str, what: str) -> str:
    if _FORBIDDEN_IN_TEXT.search(text):
        raise SdpParseError(f"{what}: NUL, CR or LF inside a value")
    return text


_BLANKS = re.compile(r"[ \t]+")


def split_words(text: str) -> list[str]:
    """Fields separated by SP (RFC 8866 §9); runs of blanks and a trailing blank are tolerated."""
    if text and "\t" not in text and "  " not in text and text[0] != " " and text[-1] != " ":
        return text.split(" ")  # the usual case: single spaces only, nothing at either end
    stripped = text.strip(" \t")
    return _BLANKS.split(stripped) if stripped else []


def split_fields(text: str, what: str, count: int) -> list[str]:
    """Exactly ``count`` blank-separated fields."""
    fields = split_words(text)
    if len(fields) != count:
        raise SdpParseError(f"{what}: expected {count} fields, got {len(fields)}")
    return fields
