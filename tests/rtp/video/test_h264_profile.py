"""H.264 fmtp negotiation (RFC 6184 §8.1, §8.2.2) with the lines browsers offer."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.rtp.video.h264_profile import (
    DEFAULT_PROFILE_LEVEL_ID,
    H264FmtpError,
    H264Level,
    H264Profile,
    ProfileLevelId,
    answer_parameters,
    is_same_h264_format,
    max_send_level,
)


def fmtp(line: str) -> dict[str, str]:
    """The parameters of an ``a=fmtp:<pt> k=v;...`` line."""
    _, _, params = line.partition(" ")
    return dict(p.split("=", 1) for p in params.split(";"))


# Chromium 1xx offer (payload types vary by version)
CHROMIUM = {
    102: "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
    104: "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
    106: "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    108: "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
    127: "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
    39: "a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f",
    112: "a=fmtp:112 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f",
    116: "a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f",
}
FIREFOX = {
    126: "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
    97: "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1",
}
OURS = {"level-asymmetry-allowed": "1", "packetization-mode": "1", "profile-level-id": "42e01f"}


@pytest.mark.parametrize(
    ("text", "profile", "level"),
    [
        ("42e01f", H264Profile.CONSTRAINED_BASELINE, H264Level.L3_1),
        ("42001f", H264Profile.BASELINE, H264Level.L3_1),
        ("4d001f", H264Profile.MAIN, H264Level.L3_1),
        ("4d801f", H264Profile.CONSTRAINED_BASELINE, H264Level.L3_1),
        ("58c01f", H264Profile.CONSTRAINED_BASELINE, H264Level.L3_1),
        ("64001f", H264Profile.HIGH, H264Level.L3_1),
        ("640c1f", H264Profile.CONSTRAINED_HIGH, H264Level.L3_1),
        ("640c34", H264Profile.CONSTRAINED_HIGH, H264Level.L5_2),
        ("f4001f", H264Profile.PREDICTIVE_HIGH_444, H264Level.L3_1),
        ("42f00b", H264Profile.CONSTRAINED_BASELINE, H264Level.L1B),
        ("42E00A", H264Profile.CONSTRAINED_BASELINE, H264Level.L1),
        ("640009", H264Profile.HIGH, H264Level.L1B),
    ],
)
def test_profile_level_id_parses_like_libwebrtc(
    text: str, profile: H264Profile, level: H264Level
) -> None:
    parsed = ProfileLevelId.parse(text)
    assert parsed == ProfileLevelId(profile, level)


@pytest.mark.parametrize(
    "text", ["42e01f", "42001f", "4d001f", "64001f", "640c1f", "42f00b", "4d100b"]
)
def test_profile_level_id_prints_back(text: str) -> None:
    assert str(ProfileLevelId.parse(text)) == text


@pytest.mark.parametrize(
    "text", ["", "42e01", "42e01fa", "zze01f", "43e01f", "64011f", "42e0ff", "42e000"]
)
def test_bad_profile_level_ids_raise_h264_fmtp_error(text: str) -> None:
    with pytest.raises(H264FmtpError):
        ProfileLevelId.parse(text)


@given(st.text(max_size=8))
def test_any_profile_level_id_text_parses_or_raises_the_documented_error(text: str) -> None:
    with contextlib.suppress(H264FmtpError):
        ProfileLevelId.parse(text)


def test_level_1b_orders_between_1_and_1_1() -> None:
    assert H264Level.L1 < H264Level.L1B < H264Level.L1_1


def test_without_profile_level_id_browsers_mean_constrained_baseline_3_1() -> None:
    assert ProfileLevelId.parse("42e01f") == DEFAULT_PROFILE_LEVEL_ID
    assert is_same_h264_format({"packetization-mode": "1"}, OURS)


def test_only_chromium_constrained_baseline_mode_1_matches_our_format() -> None:
    matching = [pt for pt, line in CHROMIUM.items() if is_same_h264_format(OURS, fmtp(line))]
    assert matching == [106]
    firefox = [pt for pt, line in FIREFOX.items() if is_same_h264_format(OURS, fmtp(line))]
    assert firefox == [126]  # 97 is packetization-mode 0 (the default)


def test_the_level_does_not_take_part_in_the_match() -> None:
    assert is_same_h264_format(OURS, {**OURS, "profile-level-id": "42e00a"})
    assert is_same_h264_format(OURS, {**OURS, "profile-level-id": "42e034"})


def test_malformed_parameters_match_nothing() -> None:
    assert not is_same_h264_format(OURS, {**OURS, "profile-level-id": "nope"})
    assert not is_same_h264_format(OURS, {**OURS, "packetization-mode": "x"})


def test_answer_to_chromium_keeps_our_level_when_both_allow_asymmetry() -> None:
    offer = fmtp(CHROMIUM[106])
    local = {**OURS, "profile-level-id": "42e034"}  # we decode up to 5.2
    assert answer_parameters(local, offer) == {
        "packetization-mode": "1",
        "level-asymmetry-allowed": "1",
        "profile-level-id": "42e034",
    }
    assert max_send_level(local, offer) == H264Level.L3_1  # Chromium receives up to 3.1
    assert max_send_level(offer, local) == H264Level.L5_2


def test_answer_without_asymmetry_takes_the_lower_level() -> None:
    offer = {"packetization-mode": "1", "profile-level-id": "42e00d"}  # level 1.3
    assert answer_parameters(OURS, offer)["profile-level-id"] == "42e00d"
    assert max_send_level(OURS, offer) == H264Level.L1_3
    high_offer = {"packetization-mode": "1", "profile-level-id": "42e028"}
    assert answer_parameters(OURS, high_offer)["profile-level-id"] == "42e01f"


def test_answer_keeps_the_answerer_profile_spelling() -> None:
    # 4d801f is Constrained Baseline spelled as Main with constraint_set0
    offer = {"packetization-mode": "1", "profile-level-id": "4d801f"}
    assert answer_parameters(OURS, offer)["profile-level-id"] == "42e01f"


def test_answer_without_any_profile_level_id_has_none() -> None:
    assert answer_parameters({"packetization-mode": "1"}, {"packetization-mode": "1"}) == {
        "packetization-mode": "1"
    }


def test_answer_to_a_different_profile_is_refused() -> None:
    with pytest.raises(H264FmtpError):
        answer_parameters(OURS, fmtp(CHROMIUM[112]))
