"""Bearer tokens and ephemeral keys on a fake clock."""

from __future__ import annotations

from pathlib import Path

from signaling.auth import Auth
from tests.signaling.bad_offers import OFFER
from tests.signaling.service import SignalingProcess, request


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


def test_ephemeral_keys_are_signed_and_stateless() -> None:
    """A key minted by one transceiver is accepted by another with the same fleet keys (a
    redirected call), by one that rotated (old key still listed), and by no other fleet; a
    tampered key is refused."""
    from signaling.auth import fleet_secrets

    old, new, other = b"\x01" * 16, b"\x02" * 16, b"\x03" * 16
    clock = Clock()
    minting = Auth(["t"], clock, fleet_secrets([old]))
    key = minting.mint(60, {"instructions": "be brief", "voice": "joe"})
    header = "Bearer " + key.value
    peer = Auth(["t"], clock, fleet_secrets([old]))
    checked = peer.check(header)
    assert not isinstance(checked, bool)
    assert checked.session == {"instructions": "be brief", "voice": "joe"}
    assert checked.expires_at == key.expires_at
    assert not isinstance(Auth(["t"], clock, fleet_secrets([new, old])).check(header), bool)
    assert Auth(["t"], clock, fleet_secrets([other])).check(header) is False
    body, _, mac = key.value.partition(".")
    for forged in (body + "." + mac[::-1], body[:-2] + "AA." + mac, body, key.value + "x"):
        assert peer.check("Bearer " + forged) is False, forged
    clock.now += 60
    assert peer.check(header) is False


def test_an_oversized_session_cannot_become_a_key() -> None:
    import secrets

    import pytest

    from signaling.auth import EphemeralKeyTooLarge

    with pytest.raises(EphemeralKeyTooLarge):
        Auth(["t"]).mint(60, {"instructions": secrets.token_hex(8000)})


def test_a_key_minted_by_one_transceiver_opens_a_call_on_another(tmp_path: Path) -> None:
    """Two services sharing a fleet keys file: the key from A's client_secrets creates a
    Realtime call on B (a call redirected with it keeps working); a third fleet refuses it."""
    keys = tmp_path / "keys"
    keys.write_text("1 000102030405060708090a0b0c0d0e0f\n")
    others = tmp_path / "other-keys"
    others.write_text("1 0f0e0d0c0b0a09080706050403020100\n")
    fleet = [
        SignalingProcess("--token", "t", "--keys", str(path), "--id", str(n))
        for n, path in enumerate((keys, keys, others))
    ]
    try:
        minted = request(
            "POST",
            fleet[0].url + "/v1/realtime/client_secrets",
            {"Authorization": "Bearer t", "Content-Type": "application/json"},
            '{"session": {"instructions": "be brief"}}',
        )
        assert minted.status_code == 200, minted.text
        body = minted.json()
        assert isinstance(body, dict)
        header = {"Authorization": "Bearer " + body["value"]}
        headers = {**header, "Content-Type": "application/sdp"}
        call = request("POST", fleet[1].url + "/v1/realtime/calls", headers, OFFER)
        assert call.status_code == 201, call.text
        hangup = request("POST", fleet[1].url + call.headers["Location"] + "/hangup", header)
        assert hangup.status_code == 200
        refused = request("POST", fleet[2].url + "/v1/realtime/calls", headers, OFFER)
        assert refused.status_code == 401
    finally:
        for service in fleet:
            assert service.terminate() == 0, service.output()
            service.close()
