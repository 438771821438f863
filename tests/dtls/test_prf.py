"""The TLS 1.2 PRF: the pad-state HMAC in ``p_hash`` agrees with the stdlib HMAC for every
hash, key length (shorter than, equal to and longer than the block) and output length."""

from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.dtls import prf


def _reference(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    out, a = b"", seed
    while len(out) < length:
        a = hmac.digest(secret, a, hash_name)
        out += hmac.digest(secret, a + seed, hash_name)
    return out[:length]


@given(
    st.sampled_from(["sha256", "sha384", "sha512", "sha1", "md5"]),
    st.binary(max_size=200),
    st.binary(max_size=200),
    st.integers(1, 200),
)
def test_p_hash_matches_stdlib_hmac(hash_name: str, secret: bytes, seed: bytes, n: int) -> None:
    assert prf.p_hash(hash_name, secret, seed, n) == _reference(hash_name, secret, seed, n)


def test_prf_output_lengths_used_by_the_handshake() -> None:
    secret, seed = bytes(range(48)), bytes(range(64))
    assert len(prf.master_secret("sha256", secret, seed[:32], seed[32:])) == 48
    assert len(prf.verify_data("sha384", secret, b"client finished", seed[:48])) == 12
    assert len(prf.key_block("sha256", secret, seed[:32], seed[32:], 40)) == 40
