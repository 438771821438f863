"""Typed attribute values: each parses what peers send, writes it back, and rejects bad input
with SdpParseError."""

from __future__ import annotations

import pytest

from pywebrtc.sdp import (
    Attribute,
    Direction,
    Extmap,
    Fingerprint,
    Fmtp,
    Group,
    IceOptions,
    Msid,
    MsidSemantic,
    Rid,
    Rtcp,
    RtcpFb,
    Rtpmap,
    Sctpmap,
    SdpParseError,
    Setup,
    Simulcast,
    SimulcastStream,
    Ssrc,
    SsrcGroup,
)
from pywebrtc.sdp.attributes import AttributeValue

CASES: list[tuple[type[AttributeValue], str, object]] = [
    (Group, "BUNDLE 0 1 2", Group("BUNDLE", ("0", "1", "2"))),
    (Group, "LS", Group("LS")),
    (MsidSemantic, "WMS *", MsidSemantic("WMS", ("*",))),
    (Msid, "- 7c7bc46e-db53", Msid("-", "7c7bc46e-db53")),
    (Msid, "{fd7e6ab5}", Msid("{fd7e6ab5}")),
    (Fingerprint, "sha-256 AB:CD:EF", Fingerprint("sha-256", "AB:CD:EF")),
    (IceOptions, "trickle renomination", IceOptions(("trickle", "renomination"))),
    (Rtcp, "9 IN IP4 0.0.0.0", Rtcp(9, "IN", "IP4", "0.0.0.0")),
    (Rtcp, "53020", Rtcp(53020)),
    (Sctpmap, "5000 webrtc-datachannel 1024", Sctpmap(5000, "webrtc-datachannel", 1024)),
    (Rtpmap, "111 opus/48000/2", Rtpmap(111, "opus", 48000, 2)),
    (Rtpmap, "96 VP8/90000", Rtpmap(96, "VP8", 90000)),
    (
        Fmtp,
        "111 minptime=10;useinbandfec=1",
        Fmtp(111, (("minptime", "10"), ("useinbandfec", "1"))),
    ),
    (Fmtp, "101 0-16", Fmtp(101, (("0-16", None),))),
    (Fmtp, "63 111/111", Fmtp(63, (("111/111", None),))),
    (
        Fmtp,
        "102 sprop-parameter-sets=Z0IAH+KQCgC3YC3AQEBpB4kRUA==,aM48gA==",
        Fmtp(102, (("sprop-parameter-sets", "Z0IAH+KQCgC3YC3AQEBpB4kRUA==,aM48gA=="),)),
    ),
    (RtcpFb, "96 nack pli", RtcpFb(96, "nack", "pli")),
    (RtcpFb, "* transport-cc", RtcpFb(None, "transport-cc")),
    (RtcpFb, "96 ccm tmmbr smaxpr=120", RtcpFb(96, "ccm", "tmmbr smaxpr=120")),
    (
        Extmap,
        "4 urn:ietf:params:rtp-hdrext:sdes:mid",
        Extmap(4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
    ),
    (
        Extmap,
        "2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level",
        Extmap(2, "urn:ietf:params:rtp-hdrext:csrc-audio-level", Direction.RECVONLY),
    ),
    (
        Extmap,
        "1/sendonly urn:example:ext vad=on extra",
        Extmap(1, "urn:example:ext", Direction.SENDONLY, "vad=on extra"),
    ),
    (Ssrc, "894107798 cname:OKUFwzYulYcxJ6vO", Ssrc(894107798, "cname", "OKUFwzYulYcxJ6vO")),
    (Ssrc, "1 msid:stream track", Ssrc(1, "msid", "stream track")),
    (Ssrc, "4294967295 label", Ssrc(4294967295, "label")),
    (SsrcGroup, "FID 2838292192 1546034327", SsrcGroup("FID", (2838292192, 1546034327))),
    (SsrcGroup, "SIM 1 2 3", SsrcGroup("SIM", (1, 2, 3))),
    (
        Simulcast,
        "send 1;~2,3 recv 4",
        Simulcast(
            send=(
                (SimulcastStream("1"),),
                (SimulcastStream("2", paused=True), SimulcastStream("3")),
            ),
            recv=((SimulcastStream("4"),),),
        ),
    ),
    (Simulcast, "recv q;h;f", Simulcast(recv=tuple((SimulcastStream(r),) for r in "qhf"))),
    (
        Rid,
        "hi send pt=96,97;max-width=1280;max-height=720",
        Rid("hi", "send", (96, 97), (("max-width", "1280"), ("max-height", "720"))),
    ),
    (Rid, "lo recv", Rid("lo", "recv")),
    (Rid, "q send max-fps=15;depend", Rid("q", "send", (), (("max-fps", "15"), ("depend", None)))),
]


@pytest.mark.parametrize(("kind", "text", "expected"), CASES)
def test_typed_value_parses_and_writes_back(
    kind: type[AttributeValue], text: str, expected: object
) -> None:
    value = kind.parse(text)
    assert value == expected
    assert str(value) == text
    assert kind.parse(str(value)) == value


def test_fingerprint_is_case_insensitive() -> None:
    lower = Fingerprint.parse("SHA-256 ab:cd:ef")
    assert lower == Fingerprint("sha-256", "AB:CD:EF")
    assert lower.digest == bytes.fromhex("abcdef")
    assert Fingerprint.from_digest("sha-256", b"\x01\xfe") == Fingerprint("sha-256", "01:FE")


def test_setup_roles() -> None:
    assert [Setup.parse(r) for r in ("actpass", "active", "passive", "holdconn")] == list(Setup)
    assert Setup.parse("ACTIVE") is Setup.ACTIVE
    with pytest.raises(SdpParseError):
        Setup.parse("both")


def test_ice_options_flags() -> None:
    options = IceOptions.parse("trickle ice2")
    assert options.trickle and options.ice2 and not options.renomination


def test_direction_reverse() -> None:
    assert Direction.SENDONLY.reverse() is Direction.RECVONLY
    assert Direction.RECVONLY.reverse() is Direction.SENDONLY
    assert Direction.SENDRECV.reverse() is Direction.SENDRECV
    assert Direction.INACTIVE.reverse() is Direction.INACTIVE


def test_fmtp_lookup_and_from_mapping() -> None:
    fmtp = Fmtp.parse("111 minptime=10; useinbandfec=1;")
    assert fmtp.parameters == (("minptime", "10"), ("useinbandfec", "1"))
    assert fmtp.get("MINPTIME") == "10" and fmtp.get("stereo") is None
    assert "UseInBandFec" in fmtp
    assert Fmtp.from_mapping(111, {"minptime": 10, "useinbandfec": 1}) == Fmtp.parse(
        "111 minptime=10;useinbandfec=1"
    )
    assert Fmtp.parse("96").parameters == ()


def test_attribute_line_forms() -> None:
    assert Attribute.parse("rtcp-mux") == Attribute("rtcp-mux")
    assert Attribute.parse("x-empty:") == Attribute("x-empty", "")
    assert Attribute.parse("msid-semantic: WMS") == Attribute("msid-semantic", " WMS")
    assert str(Attribute("x-empty", "")) == "x-empty:"
    assert Attribute.of(Rtpmap(0, "PCMU", 8000)) == Attribute("rtpmap", "0 PCMU/8000")


BAD: list[tuple[type[AttributeValue], str]] = [
    (Group, ""),
    (Group, "BUNDLE 0 (1)"),
    (MsidSemantic, "  "),
    (Msid, ""),
    (Msid, "a b c"),
    (Fingerprint, "sha-256"),
    (Fingerprint, "sha-256 AB:C"),
    (Fingerprint, "sha-256 AB::CD"),
    (Fingerprint, "sha-256 GG:00"),
    (IceOptions, ""),
    (IceOptions, "trick-le"),
    (Rtcp, "x"),
    (Rtcp, "9 IN IP4"),
    (Rtcp, "70000"),
    (Sctpmap, "5000"),
    (Sctpmap, "x webrtc-datachannel"),
    (Rtpmap, ""),
    (Rtpmap, "111"),
    (Rtpmap, "111 opus"),
    (Rtpmap, "128 opus/48000"),
    (Rtpmap, "111 opus/0"),
    (Rtpmap, "111 opus/48000/2/1"),
    (Rtpmap, "111 opus/48000/two"),
    (Fmtp, ""),
    (Fmtp, "abc x=1"),
    (Fmtp, "96 =1"),
    (RtcpFb, "96"),
    (RtcpFb, "x nack"),
    (RtcpFb, "96 na(ck"),
    (Extmap, "1"),
    (Extmap, "0 urn:x"),
    (Extmap, "4352 urn:x"),
    (Extmap, "256 urn:x"),
    (Extmap, "4095 urn:x"),
    (Extmap, "1/both urn:x"),
    (Extmap, "x urn:x"),
    (Ssrc, "1"),
    (Ssrc, "4294967296 cname:x"),
    (Ssrc, "1 :x"),
    (SsrcGroup, ""),
    (SsrcGroup, "FID x"),
    (Simulcast, ""),
    (Simulcast, "send"),
    (Simulcast, "send 1 send 2"),
    (Simulcast, "sideways 1"),
    (Simulcast, "send 1;;2"),
    (Simulcast, "send ~"),
    (Simulcast, " send rid=1"),
    (Rid, "1"),
    (Rid, "1 both"),
    (Rid, "1 send pt=x"),
    (Rid, "1 send max-width=1;pt=96"),
    (Rid, "1.5 send"),
    (Rid, "1 send a;;b"),
]


@pytest.mark.parametrize(("kind", "text"), BAD)
def test_bad_typed_values_raise_sdp_parse_error(kind: type[AttributeValue], text: str) -> None:
    with pytest.raises(SdpParseError):
        kind.parse(text)
