"""Key derivation (RFC 8489 §9)."""

from __future__ import annotations

import hashlib

import pytest

from pywebrtc import stun
from pywebrtc.stun import PasswordAlgorithmId

from . import vectors


def test_short_term_key_is_the_password() -> None:
    assert stun.short_term_key("VOkJxbRl1RmTxUk/WvJxBt") == b"VOkJxbRl1RmTxUk/WvJxBt"


def test_long_term_keys() -> None:
    args = (vectors.LONG_TERM_USERNAME, vectors.LONG_TERM_REALM, vectors.LONG_TERM_PASSWORD)
    material = ":".join(args).encode()
    assert stun.long_term_key(*args) == hashlib.md5(material).digest()
    assert (
        stun.long_term_key(*args, PasswordAlgorithmId.SHA256) == hashlib.sha256(material).digest()
    )
    with pytest.raises(ValueError):
        stun.long_term_key(*args, 3)


def test_userhash() -> None:
    assert stun.userhash("user", "realm") == hashlib.sha256(b"user:realm").digest()


def test_hmac_helpers_match_the_stdlib() -> None:
    import hmac

    from pywebrtc.stun.integrity import hmac_sha1, hmac_sha256

    for key in (b"", b"k", b"x" * 64, b"y" * 65, b"z" * 200):
        for data in (b"", b"abc" * 40):
            assert hmac_sha1(key, data) == hmac.digest(key, data, "sha1")
            assert hmac_sha256(key, data) == hmac.digest(key, data, "sha256")
