"""ICE credentials and SettingEngine validation: bad values raise, never get replaced."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.ice.config import AgentConfig, IceConfig
from pywebrtc.ice.credentials import ICE_CHARS, Credentials, validate_pwd, validate_ufrag
from pywebrtc.ice.errors import IceError, InvalidCredentialError
from pywebrtc.settings import SettingEngine, SettingError

ice_text = st.text(alphabet=ICE_CHARS, min_size=1, max_size=300)


@given(ice_text)
def test_ufrag_validation_is_exactly_charset_and_length(value: str) -> None:
    if 4 <= len(value) <= 256:
        assert validate_ufrag(value) == value
    else:
        with pytest.raises(InvalidCredentialError):
            validate_ufrag(value)


@given(st.text(min_size=4, max_size=40).filter(lambda s: any(c not in ICE_CHARS for c in s)))
def test_non_ice_characters_are_rejected(value: str) -> None:
    with pytest.raises(InvalidCredentialError, match="may only hold|characters"):
        validate_ufrag(value)


@pytest.mark.parametrize(
    "pwd", ["short", "x" * 21, "x" * 257, "has space in it xxxxxxxx", "é" * 22]
)
def test_bad_passwords_are_rejected(pwd: str) -> None:
    with pytest.raises(InvalidCredentialError):
        validate_pwd(pwd)


def test_generated_credentials_are_valid_and_distinct() -> None:
    seen = {Credentials.generate().ufrag for _ in range(200)}
    assert len(seen) == 200
    c = Credentials.generate()
    assert len(c.ufrag) >= 4 and len(c.pwd) >= 22


def test_setting_engine_fixed_credentials_are_used_once_then_fresh_ones() -> None:
    s = SettingEngine()
    s.set_ice_credentials("abcd", "p" * 22)
    first = s.next_local_credentials()
    assert (first.ufrag, first.pwd) == ("abcd", "p" * 22)
    assert s.next_local_credentials().ufrag != "abcd"


def test_setting_engine_ice_config_carries_the_ice_settings_only() -> None:
    s = SettingEngine()
    s.set_ice_credentials("abcd", "p" * 22)
    s.set_lite(True)
    s.set_nat_1to1_ips(["203.0.113.5"], candidate_type="srflx")
    s.set_ephemeral_udp_port_range(40000, 40100)
    s.set_include_loopback(True)
    s.set_ice_timeouts(consent_interval=2)
    s.set_ufrag_generator(lambda: "route0000")
    config = s.ice_config()
    assert isinstance(config, IceConfig)
    assert config.credentials == Credentials("abcd", "p" * 22)
    assert config.ice_lite and config.include_loopback
    assert config.nat_1to1_ips == ("203.0.113.5",) and config.nat_1to1_candidate_type == "srflx"
    assert config.port_range == (40000, 40100)
    assert config.agent_config == AgentConfig(consent_interval=2)
    assert not hasattr(config, "dtls_initial_timeout") and not hasattr(config, "opus_bitrate")
    # An ICE restart, and the next session, draw fresh credentials from the generator.
    assert config.next_local_credentials().ufrag == "route0000"
    following = s.ice_config().credentials
    assert following is not None and following.ufrag == "route0000"


def test_repr_does_not_show_the_password() -> None:
    credentials = Credentials("abcd", "secret" * 4)
    assert "secret" not in repr(credentials) and "abcd" in repr(credentials)
    assert "secret" not in repr(IceConfig(credentials=credentials))


def test_setting_engine_ufrag_generator_is_called_and_validated() -> None:
    counter = itertools.count()
    s = SettingEngine()
    s.set_ufrag_generator(lambda: f"route{next(counter):04d}")
    assert s.next_local_credentials().ufrag == "route0000"
    assert s.next_local_credentials().ufrag == "route0001"
    s.set_ufrag_generator(lambda: "bad ufrag!")
    with pytest.raises(InvalidCredentialError):
        s.next_local_credentials()
    s.set_ufrag_generator(lambda: "abc")
    with pytest.raises(InvalidCredentialError):
        s.next_local_credentials()


@pytest.mark.parametrize(
    ("ufrag", "pwd"),
    [("abc", "p" * 22), ("abcd", "p" * 21), ("ab:d", "p" * 22), ("abcd", "p" * 21 + "-")],
)
def test_setting_engine_rejects_bad_fixed_credentials(ufrag: str, pwd: str) -> None:
    s = SettingEngine()
    with pytest.raises(InvalidCredentialError):
        s.set_ice_credentials(ufrag, pwd)
    assert issubclass(InvalidCredentialError, ValueError)


def test_setting_engine_other_setters_validate() -> None:
    s = SettingEngine()
    with pytest.raises(SettingError):
        s.set_nat_1to1_ips(["not-an-ip"])
    with pytest.raises(SettingError):
        s.set_ephemeral_udp_port_range(5000, 4000)
    with pytest.raises(SettingError):
        s.set_ufrag_generator("nope")  # type: ignore[arg-type]
    with pytest.raises(IceError):
        s.set_check_timing(ta=-1)
    s.set_nat_1to1_ips(["203.0.113.5"])
    s.set_ephemeral_udp_port_range(40000, 40100)
    s.set_lite(True)
    s.set_ice_timeouts(disconnected=3, failed=10, consent_interval=2, consent_timeout=15)
    s.set_check_timing(ta=0.002, rto=0.1, max_attempts=5, nomination_settle=0.01)
    assert s.ice_lite and s.port_range == (40000, 40100)
    assert s.agent_config == AgentConfig(
        ta=0.002,
        check_rto=0.1,
        max_check_attempts=5,
        nomination_settle=0.01,
        disconnected_timeout=3,
        failed_timeout=10,
        consent_interval=2,
        consent_timeout=15,
    )


@given(st.one_of(st.text(max_size=300), st.integers(), st.none(), st.binary(max_size=10)))
def test_ufrag_generator_output_is_used_verbatim_or_rejected(value: object) -> None:
    s = SettingEngine()
    s.set_ufrag_generator(lambda: value)  # type: ignore[arg-type, return-value]
    try:
        creds = s.next_local_credentials()
    except InvalidCredentialError:
        valid = (
            isinstance(value, str)
            and 4 <= len(value) <= 256
            and all(c in ICE_CHARS for c in value)
        )
        assert not valid
    else:
        assert creds.ufrag == value


def test_repr_shows_the_ufrag_but_never_the_password() -> None:
    pwd = "SecretPasswordValue0123"
    creds = Credentials("abcd", pwd)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
        assert "abcd" in text
        assert pwd not in text and "pwd" not in text
    generated = Credentials.generate()
    assert generated.pwd not in repr(generated)
    assert creds == Credentials("abcd", pwd) and creds != Credentials("abcd", pwd[::-1])


@pytest.mark.parametrize("pwd", ["Secret pwd with spaces xx", "Secret" * 50, "Secret!"])
def test_a_rejected_password_is_not_echoed_in_the_error(pwd: str) -> None:
    with pytest.raises(InvalidCredentialError) as caught:
        Credentials("abcd", pwd)
    assert "Secret" not in str(caught.value)
