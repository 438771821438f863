"""H.264 ``a=fmtp`` negotiation: ``profile-level-id``, ``packetization-mode`` and
``level-asymmetry-allowed`` (RFC 6184 §8.1, §8.2.2), the way browsers apply them.

Two H.264 formats are the same codec when their profiles (from ``profile_idc`` and the
constraint flags of ``profile-iop``, H.264 §A.2) and their packetization modes are equal; the
level is not part of the match. The answer carries the answerer's profile and, unless both sides
set ``level-asymmetry-allowed=1``, the lower of the two levels (§8.2.2); with asymmetry each side
receives up to the level it declared, so the answer keeps the answerer's own level.

This is libwebrtc's reading (``api/video_codecs/h264_profile_level_id.cc``), which Chromium and
Firefox interoperate with; one deliberate departure from the RFC follows it: a format without
``profile-level-id`` means Constrained Baseline level 3.1, not Baseline level 1 (§8.1), because
WebRTC endpoints omit it meaning the former. Parameters come as a ``Mapping[str, str]`` (the
fmtp key/values), so this module does not depend on :mod:`pywebrtc.sdp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum

from .h264 import H264Error

__all__ = [
    "DEFAULT_PROFILE_LEVEL_ID",
    "H264FmtpError",
    "H264Level",
    "H264Profile",
    "ProfileLevelId",
    "answer_parameters",
    "is_same_h264_format",
    "max_send_level",
    "profile_level_id_of",
]


class H264FmtpError(H264Error):
    """An H.264 fmtp parameter (``profile-level-id``, ``packetization-mode``) is malformed."""


class H264Profile(Enum):
    CONSTRAINED_BASELINE = "constrained-baseline"
    BASELINE = "baseline"
    MAIN = "main"
    CONSTRAINED_HIGH = "constrained-high"
    HIGH = "high"
    PREDICTIVE_HIGH_444 = "predictive-high-444"


class H264Level(IntEnum):
    """Levels ordered by capability: the value is ten times ``level_idc``, level 1b 105 (it
    lies between 1 and 1.1, H.264 §A.3, and is coded as 11 with constraint_set3, or as 9)."""

    L1 = 100
    L1B = 105
    L1_1 = 110
    L1_2 = 120
    L1_3 = 130
    L2 = 200
    L2_1 = 210
    L2_2 = 220
    L3 = 300
    L3_1 = 310
    L3_2 = 320
    L4 = 400
    L4_1 = 410
    L4_2 = 420
    L5 = 500
    L5_1 = 510
    L5_2 = 520

    @property
    def level_idc(self) -> int:
        return 11 if self is H264Level.L1B else self.value // 10


_CONSTRAINT_SET3 = 0x10

# (profile_idc, mask, value) -> profile, first match wins (libwebrtc's kProfilePatterns)
_PATTERNS: tuple[tuple[int, int, int, H264Profile], ...] = (
    (0x42, 0x4F, 0x40, H264Profile.CONSTRAINED_BASELINE),  # x1xx0000
    (0x4D, 0x8F, 0x80, H264Profile.CONSTRAINED_BASELINE),  # 1xxx0000
    (0x58, 0xCF, 0xC0, H264Profile.CONSTRAINED_BASELINE),  # 11xx0000
    (0x42, 0x4F, 0x00, H264Profile.BASELINE),  # x0xx0000
    (0x58, 0xCF, 0x80, H264Profile.BASELINE),  # 10xx0000
    (0x4D, 0xAF, 0x00, H264Profile.MAIN),  # 0x0x0000
    (0x64, 0xFF, 0x00, H264Profile.HIGH),  # 00000000
    (0x64, 0xFF, 0x0C, H264Profile.CONSTRAINED_HIGH),  # 00001100
    (0xF4, 0xFF, 0x00, H264Profile.PREDICTIVE_HIGH_444),  # 00000000
)

_PROFILE_PREFIX = {
    H264Profile.CONSTRAINED_BASELINE: "42e0",
    H264Profile.BASELINE: "4200",
    H264Profile.MAIN: "4d00",
    H264Profile.CONSTRAINED_HIGH: "640c",
    H264Profile.HIGH: "6400",
    H264Profile.PREDICTIVE_HIGH_444: "f400",
}
# level 1b is only expressible through constraint_set3 in the profiles that have it
_LEVEL_1B_TEXT = {
    H264Profile.CONSTRAINED_BASELINE: "42f00b",
    H264Profile.BASELINE: "42100b",
    H264Profile.MAIN: "4d100b",
}


@dataclass(frozen=True, slots=True)
class ProfileLevelId:
    profile: H264Profile
    level: H264Level

    @classmethod
    def parse(cls, text: str) -> ProfileLevelId:
        """``profile-level-id``: 6 hex digits, profile_idc, profile-iop, level_idc (§8.1)."""
        if len(text) != 6 or not all(c in "0123456789abcdefABCDEF" for c in text):
            raise H264FmtpError(f"profile-level-id {text!r} is not 6 hex digits")
        value = int(text, 16)
        idc, iop, level_idc = value >> 16, (value >> 8) & 0xFF, value & 0xFF
        if level_idc == 9 or (level_idc == 11 and iop & _CONSTRAINT_SET3):
            level = H264Level.L1B
        else:
            try:
                level = H264Level(level_idc * 10)
            except ValueError:
                raise H264FmtpError(f"profile-level-id {text!r}: unknown level") from None
        for p_idc, mask, bits, profile in _PATTERNS:
            if idc == p_idc and iop & mask == bits:
                return cls(profile, level)
        raise H264FmtpError(f"profile-level-id {text!r}: unknown profile")

    def __str__(self) -> str:
        if self.level is H264Level.L1B:
            try:
                return _LEVEL_1B_TEXT[self.profile]
            except KeyError:
                raise H264FmtpError(f"level 1b has no profile-level-id in {self.profile}") from None
        return f"{_PROFILE_PREFIX[self.profile]}{self.level.level_idc:02x}"


# what libwebrtc assumes without profile-level-id (the RFC says Baseline level 1)
DEFAULT_PROFILE_LEVEL_ID = ProfileLevelId(H264Profile.CONSTRAINED_BASELINE, H264Level.L3_1)


def profile_level_id_of(parameters: Mapping[str, str]) -> ProfileLevelId:
    text = parameters.get("profile-level-id")
    return DEFAULT_PROFILE_LEVEL_ID if text is None else ProfileLevelId.parse(text)


def _packetization_mode(parameters: Mapping[str, str]) -> int:
    text = parameters.get("packetization-mode", "0")
    if text not in ("0", "1", "2"):
        raise H264FmtpError(f"packetization-mode {text!r}")
    return int(text)


def _asymmetry(parameters: Mapping[str, str]) -> bool:
    return parameters.get("level-asymmetry-allowed") == "1"


def is_same_h264_format(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two H.264 fmtp parameter sets describe the same format (profile and
    packetization mode equal; levels may differ). Malformed parameters match nothing."""
    try:
        return profile_level_id_of(a).profile is profile_level_id_of(b).profile and (
            _packetization_mode(a) == _packetization_mode(b)
        )
    except H264FmtpError:
        return False


def answer_parameters(local: Mapping[str, str], offer: Mapping[str, str]) -> dict[str, str]:
    """The fmtp of our answer for an offered format matching our ``local`` one (RFC 6184
    §8.2.2): our packetization mode and asymmetry flag, our profile, and our level, or the
    offer's when lower and asymmetry is not allowed by both."""
    if not is_same_h264_format(local, offer):
        raise H264FmtpError("the offered H.264 format does not match the local one")
    answer = {"packetization-mode": str(_packetization_mode(local))}
    if _asymmetry(local):
        answer["level-asymmetry-allowed"] = "1"
    if "profile-level-id" in local or "profile-level-id" in offer:
        ours = profile_level_id_of(local)
        level = ours.level
        if not (_asymmetry(local) and _asymmetry(offer)):
            level = min(level, profile_level_id_of(offer).level)
        answer["profile-level-id"] = str(ProfileLevelId(ours.profile, level))
    return answer


def max_send_level(local: Mapping[str, str], remote: Mapping[str, str]) -> H264Level:
    """The highest level we may send once negotiated: the remote's declared receive level when
    both allow asymmetry, otherwise the level both hold (the lower one)."""
    theirs = profile_level_id_of(remote).level
    if _asymmetry(local) and _asymmetry(remote):
        return theirs
    return min(profile_level_id_of(local).level, theirs)
