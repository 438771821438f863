"""Bearer tokens and ephemeral keys on a fake clock."""

from __future__ import annotations

from signaling.auth import Auth


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_no_tokens_means_no_auth() -> None:
    auth = Auth([])
    assert not auth.enabled
    assert auth.check(None) is True and auth.is_configured_token(None)


def test_configured_tokens() -> None:
    auth = Auth(["a", "b"])
    assert auth.check("Bearer a") is True and auth.check("bearer  b ") is True
    for header in (None, "", "Bearer", "Bearer c", "Basic a", "a"):
        assert auth.check(header) is False, header


def test_ephemeral_key_lives_until_it_expires() -> None:
    clock = Clock()
    auth = Auth(["a"], clock)
    key = auth.mint(10, {"instructions": "hi"})
    assert key.value.startswith("ek_") and key.expires_at == 1_000_010
    assert "ek_" not in repr(key).replace("ek_…", "")  # the secret stays out of logs
    assert auth.check("Bearer " + key.value) == key
    assert not auth.is_configured_token("Bearer " + key.value)  # cannot mint more keys
    clock.now += 9.9
    assert auth.check("Bearer " + key.value) == key
    clock.now += 0.1
    assert auth.check("Bearer " + key.value) is False
    assert auth.check("Bearer ek_forged") is False
