"""RTP packet and header extensions against hand-built vectors (RFC 3550 §5.1, RFC 8285)."""

import pytest

from pywebrtc.rtp import (
    ONE_BYTE_PROFILE,
    TWO_BYTE_PROFILE,
    AudioLevel,
    RtpPacket,
    RtpParseError,
    abs_send_time_from_seconds,
    abs_send_time_to_seconds,
    pack_abs_send_time,
    pack_mid,
    pack_transport_sequence_number,
    parse_header_extensions,
    serialize_header_extensions,
    unpack_abs_send_time,
    unpack_mid,
    unpack_transport_sequence_number,
)

OPUS_PAYLOAD = bytes.fromhex("fcfffe")  # an Opus DTX/silence frame (TOC 0xfc)

# What Chrome sends for Opus with the four usual extensions negotiated as
# a=extmap:1 ssrc-audio-level, 2 abs-send-time, 3 transport-wide-cc, 4 sdes:mid.
CHROME_OPUS = (
    bytes.fromhex(
        "906f3b2e"  # V=2 P=0 X=1 CC=0 | M=0 PT=111 | seq 0x3b2e
        "0001e240"  # timestamp 123456
        "5d188f2c"  # SSRC
        "bede0003"  # one-byte form (0xBEDE), 3 words of elements
        "10ff"  # id 1, L=0 (1 byte): audio level V=1, 127 -dBov
        "222c5c29"  # id 2, L=2 (3 bytes): abs-send-time 0x2c5c29
        "310007"  # id 3, L=1 (2 bytes): transport-wide seq 7
        "4030"  # id 4, L=0 (1 byte): mid "0"
        "00"  # padding to the 32-bit boundary
    )
    + OPUS_PAYLOAD
)


def test_chrome_opus_packet_fields() -> None:
    p = RtpPacket.parse(CHROME_OPUS)
    assert (p.payload_type, p.sequence_number, p.timestamp, p.ssrc) == (
        111,
        0x3B2E,
        123456,
        0x5D188F2C,
    )
    assert not p.marker and p.csrcs == () and p.padding_size == 0
    assert p.extension_profile == ONE_BYTE_PROFILE
    assert p.payload == OPUS_PAYLOAD
    assert p.extensions == {1: b"\xff", 2: b"\x2c\x5c\x29", 3: b"\x00\x07", 4: b"0"}


def test_chrome_opus_typed_extensions() -> None:
    p = RtpPacket.parse(CHROME_OPUS)
    assert AudioLevel.parse(p.extension(1) or b"") == AudioLevel(voice=True, level=127)
    assert unpack_abs_send_time(p.extension(2) or b"") == 0x2C5C29
    assert unpack_transport_sequence_number(p.extension(3) or b"") == 7
    assert unpack_mid(p.extension(4) or b"") == "0"
    assert p.extension(9) is None


def test_chrome_opus_round_trip_is_byte_exact() -> None:
    assert bytes(RtpPacket.parse(CHROME_OPUS)) == CHROME_OPUS


def test_building_the_chrome_packet_chooses_one_byte_form() -> None:
    p = RtpPacket(111, 0x3B2E, 123456, 0x5D188F2C, OPUS_PAYLOAD).with_extensions(
        {
            1: bytes(AudioLevel(True, 127)),
            2: pack_abs_send_time(0x2C5C29),
            3: pack_transport_sequence_number(7),
            4: pack_mid("0"),
        }
    )
    assert bytes(p) == CHROME_OPUS


def test_minimal_header_marker_csrcs_and_padding() -> None:
    data = bytes.fromhex(
        "a2"  # V=2 P=1 X=0 CC=2
        "e0"  # M=1 PT=96
        "0001"  # seq 1
        "00000002"  # timestamp
        "00000003"  # SSRC
        "0000000a0000000b"  # CSRCs 10, 11
        "abcd"  # payload
        "000003"  # 3 bytes of padding, the last one counting them
    )
    p = RtpPacket.parse(data)
    assert p.marker and p.payload_type == 96
    assert p.csrcs == (10, 11)
    assert p.payload == b"\xab\xcd"
    assert p.padding_size == 3
    assert bytes(p) == data


def test_no_extension_is_not_an_empty_extension() -> None:
    empty = RtpPacket(0, 1, 2, 3, extension_profile=ONE_BYTE_PROFILE)
    data = bytes(empty)
    assert data[0] == 0x90 and data[12:16] == b"\xbe\xde\x00\x00"
    assert RtpPacket.parse(data) == empty
    assert RtpPacket.parse(bytes(RtpPacket(0, 1, 2, 3))).extension_profile is None


def test_other_profile_block_is_kept_raw() -> None:
    p = RtpPacket(0, 1, 2, 3, b"x", extension_profile=0x1234, extension_data=b"abcdefgh")
    parsed = RtpPacket.parse(bytes(p))
    assert parsed == p
    assert parsed.extensions == {}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "short"),
        (bytes(11), "short"),
        (bytes.fromhex("40000000 00000000 00000000"), "version 1"),
        (bytes.fromhex("81000000 00000000 00000000"), "CSRC list truncated"),
        (bytes.fromhex("90000000 00000000 00000000 bede"), "extension header truncated"),
        (bytes.fromhex("90000000 00000000 00000000 bede0001 10"), "extension truncated"),
        (bytes.fromhex("a0000000 00000000 00000000 00"), "padding count 0"),
        (bytes.fromhex("a0000000 00000000 00000000 0005"), "padding beyond packet"),
    ],
)
def test_malformed_packets_raise_rtp_parse_error(data: bytes, reason: str) -> None:
    with pytest.raises(RtpParseError):
        RtpPacket.parse(data)


def test_padding_may_fill_everything_after_the_header() -> None:
    data = bytes.fromhex("a0000000 00000000 00000000 00000004")
    p = RtpPacket.parse(data)
    assert p.payload == b"" and p.padding_size == 4


# -- RFC 8285 -------------------------------------------------------------------------------


def test_one_byte_form_padding_between_elements_and_id15_stop() -> None:
    block = bytes.fromhex(
        "1061"  # id 1, 1 byte 0x61
        "0000"  # padding bytes between elements
        "21aabb"  # id 2, 2 bytes
        "f5"  # id 15: stop here, whatever its length says
        "3100"  # would be id 3, never read
    )
    assert parse_header_extensions(ONE_BYTE_PROFILE, block) == [(1, b"a"), (2, b"\xaa\xbb")]


def test_two_byte_form_with_appbits_empty_and_long_values() -> None:
    block = bytes.fromhex("070000ff03616263")  # id 7 empty, padding, id 255 "abc"
    profile = TWO_BYTE_PROFILE | 0x5  # 0x100 + appbits 5
    assert parse_header_extensions(profile, block) == [(7, b""), (255, b"abc")]


def test_auto_form_selection() -> None:
    assert serialize_header_extensions({1: b"a"}) == (ONE_BYTE_PROFILE, b"\x10a\x00\x00")
    # Id above 14, an empty value and a value longer than 16 bytes each need two-byte form.
    assert serialize_header_extensions({15: b"a"}) == (TWO_BYTE_PROFILE, b"\x0f\x01a\x00")
    assert serialize_header_extensions({1: b""}) == (TWO_BYTE_PROFILE, b"\x01\x00\x00\x00")
    profile, block = serialize_header_extensions({1: bytes(17)})
    assert profile == TWO_BYTE_PROFILE and block[:2] == b"\x01\x11" and len(block) == 20
    assert serialize_header_extensions({1: b"ab"}, form="two-byte")[0] == TWO_BYTE_PROFILE


def test_one_byte_form_rejects_what_it_cannot_carry() -> None:
    with pytest.raises(ValueError):
        serialize_header_extensions({15: b"a"}, form="one-byte")
    with pytest.raises(ValueError):
        serialize_header_extensions({1: bytes(17)}, form="one-byte")
    with pytest.raises(ValueError):
        serialize_header_extensions({256: b"a"})


@pytest.mark.parametrize(
    ("profile", "block"),
    [
        (ONE_BYTE_PROFILE, b"\x13ab"),  # id 1 says 4 bytes, 2 left
        (TWO_BYTE_PROFILE, b"\x01"),  # length byte missing
        (TWO_BYTE_PROFILE, b"\x01\x05abc"),  # value truncated
    ],
)
def test_truncated_elements_raise(profile: int, block: bytes) -> None:
    with pytest.raises(RtpParseError):
        parse_header_extensions(profile, block)
    p = RtpPacket(0, 0, 0, 0, extension_profile=profile, extension_data=block)
    with pytest.raises(RtpParseError):
        _ = p.extensions


def test_with_extensions_replaces_and_removes_the_block() -> None:
    p = RtpPacket(0, 0, 0, 0).with_extensions([(20, b"x")])
    assert p.extension_profile == TWO_BYTE_PROFILE and p.extensions == {20: b"x"}
    assert p.with_extensions({}).extension_profile is None


# -- typed helpers --------------------------------------------------------------------------


def test_audio_level_encoding() -> None:
    assert bytes(AudioLevel(voice=False, level=30)) == b"\x1e"
    assert AudioLevel.parse(b"\x9e") == AudioLevel(voice=True, level=30)
    with pytest.raises(ValueError):
        bytes(AudioLevel(voice=False, level=128))
    with pytest.raises(RtpParseError):
        AudioLevel.parse(b"")


def test_abs_send_time_is_6_18_fixed_point() -> None:
    # 1.5 s = 1 << 18 (one second) + 1 << 17 (half a second)
    assert abs_send_time_from_seconds(1.5) == 0x060000
    assert abs_send_time_to_seconds(0x060000) == 1.5
    # It wraps every 64 seconds.
    assert abs_send_time_from_seconds(65.5) == abs_send_time_from_seconds(1.5)
    assert pack_abs_send_time(0x060000) == b"\x06\x00\x00"
    with pytest.raises(RtpParseError):
        unpack_abs_send_time(b"\x00\x00")


def test_transport_sequence_number_and_mid() -> None:
    assert pack_transport_sequence_number(0xABCD) == b"\xab\xcd"
    with pytest.raises(RtpParseError):
        unpack_transport_sequence_number(b"\x01")
    with pytest.raises(RtpParseError):
        unpack_mid(b"\xff")
    assert pack_mid("audio") == b"audio"


def test_serializing_invalid_fields_raises_value_error() -> None:
    with pytest.raises(ValueError):
        bytes(RtpPacket(128, 0, 0, 0))
    with pytest.raises(ValueError):
        bytes(RtpPacket(0, 0x10000, 0, 0))
    with pytest.raises(ValueError):
        bytes(RtpPacket(0, 0, 0, 0, csrcs=tuple(range(16))))
    with pytest.raises(ValueError):
        bytes(RtpPacket(0, 0, 0, 0, extension_profile=ONE_BYTE_PROFILE, extension_data=b"abc"))
