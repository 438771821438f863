"""Session descriptions: building an answer from scratch, editing attributes, what the parser
tolerates and what it rejects."""

from __future__ import annotations

import pytest

from pywebrtc.sdp import (
    Attribute,
    Bandwidth,
    Candidate,
    CandidateType,
    Connection,
    Direction,
    Extmap,
    Fingerprint,
    Fmtp,
    Group,
    IceOptions,
    Line,
    MediaDescription,
    Msid,
    MsidSemantic,
    Origin,
    Rtcp,
    RtcpFb,
    Rtpmap,
    SdpParseError,
    SessionDescription,
    Setup,
    Simulcast,
    SimulcastStream,
    Timing,
)

FINGERPRINT = Fingerprint.from_digest("sha-256", bytes(range(32)))

ANSWER = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=msid-semantic:WMS\r\n"
    "a=ice-lite\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\n"
    "a=ice-ufrag:Xrelay0key\r\n"
    "a=ice-pwd:asd88fgpdd777uzjYhagZg00\r\n"
    "a=ice-options:trickle\r\n"
    f"a=fingerprint:sha-256 {FINGERPRINT.value}\r\n"
    "a=setup:passive\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=candidate:1 1 udp 2130706431 203.0.113.1 3478 typ host\r\n"
    "a=end-of-candidates\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:1\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n"
)


def build_answer() -> SessionDescription:
    answer = SessionDescription(origin=Origin(session_id=4611731400430051336, session_version=2))
    answer.add(Group("BUNDLE", ("0", "1")))
    answer.msid_semantic = MsidSemantic("WMS")
    answer.ice_lite = True

    audio = MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", ["111"])
    audio.connections.append(Connection())
    audio.mid = "0"
    audio.ice_ufrag = "Xrelay0key"
    audio.ice_pwd = "asd88fgpdd777uzjYhagZg00"
    audio.ice_options = IceOptions(("trickle",))
    audio.add(FINGERPRINT)
    audio.setup = Setup.PASSIVE
    audio.direction = Direction.SENDONLY.reverse()
    audio.rtcp_mux = True
    audio.add(Extmap(1, "urn:ietf:params:rtp-hdrext:sdes:mid"))
    audio.add(Rtpmap(111, "opus", 48000, 2))
    audio.add(Fmtp.from_mapping(111, {"minptime": 10, "useinbandfec": 1}))
    audio.add(RtcpFb(111, "transport-cc"))
    audio.add(Candidate("1", 1, "udp", 2130706431, "203.0.113.1", 3478, CandidateType.HOST))
    audio.end_of_candidates = True

    data = MediaDescription("application", 9, "UDP/DTLS/SCTP", ["webrtc-datachannel"])
    data.connections.append(Connection())
    data.mid = "1"
    data.sctp_port = 5000
    data.max_message_size = 262144
    answer.add_media([audio, data])
    return answer


def test_an_answer_built_from_scratch_serialises_as_expected() -> None:
    answer = build_answer()
    assert str(answer) == ANSWER
    assert SessionDescription.parse(ANSWER) == answer


def test_typed_reads_of_the_built_answer() -> None:
    answer = SessionDescription.parse(ANSWER)
    audio = answer.media_by_mid("0")
    assert audio is not None
    assert answer.group() == Group("BUNDLE", ("0", "1"))
    assert answer.ice_lite and not audio.ice_lite
    assert audio.direction is Direction.RECVONLY and audio.setup is Setup.PASSIVE
    assert audio.fingerprints == [FINGERPRINT]
    assert audio.candidates[0].port == 3478 and audio.end_of_candidates
    assert answer.media_by_mid("1") is answer.media[1]
    assert answer.media_by_mid("9") is None


def test_setters_replace_in_place_and_none_removes() -> None:
    media = MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", ["0"])
    media.add_attribute("mid", "a")
    media.add_attribute("sendrecv")
    media.add_attribute("x-custom", "1")
    media.add_attribute("mid", "duplicate")
    media.mid = "b"
    media.direction = Direction.INACTIVE
    assert [str(a) for a in media.attributes] == ["mid:b", "inactive", "x-custom:1"]
    media.mid = None
    media.direction = None
    assert media.attributes == [Attribute("x-custom", "1")]
    media.set_attribute("x-custom", "2")
    media.rtcp = Rtcp(9, "IN", "IP4", "0.0.0.0")
    media.rtcp_rsize = True
    media.rtcp_mux_only = True
    media.simulcast = Simulcast(recv=((SimulcastStream("h"),), (SimulcastStream("l"),)))
    assert [str(a) for a in media.attributes] == [
        "x-custom:2",
        "rtcp:9 IN IP4 0.0.0.0",
        "rtcp-rsize",
        "rtcp-mux-only",
        "simulcast:recv h;l",
    ]
    media.rtcp_rsize = False
    assert not media.rtcp_rsize and media.rtcp_mux_only
    assert media.remove_attributes("x-custom") == 1 and media.remove_attributes("x-custom") == 0


def test_replace_keeps_the_position_of_the_first_of_its_name() -> None:
    media = MediaDescription("audio", 9, "RTP/AVP", ["0"])
    media.add(Msid("a", "1"))
    media.add_attribute("rtcp-mux")
    media.add(Msid("b", "2"))
    media.replace(Msid("c", "3"))
    assert media.attributes == [Attribute("msid", "c 3"), Attribute("rtcp-mux")]
    assert media.value(Msid) == Msid("c", "3") and media.value(Rtcp) is None
    assert media.attribute_values("msid") == ["c 3"]
    assert media.attribute("rtcp-mux") == Attribute("rtcp-mux")


def test_lookups_by_payload_type() -> None:
    media = MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", ["96", "97"])
    media.add(RtcpFb(None, "transport-cc"))
    media.add(RtcpFb(96, "nack", "pli"))
    media.add(RtcpFb(97, "nack"))
    assert media.feedback_for(96) == [RtcpFb(None, "transport-cc"), RtcpFb(96, "nack", "pli")]
    assert media.rtpmap(96) is None and media.fmtp(96) is None
    assert media.payload_types == [96, 97]
    application = MediaDescription("application", 9, "UDP/DTLS/SCTP", ["webrtc-datachannel"])
    with pytest.raises(SdpParseError):
        application.payload_types  # noqa: B018 -- the property is what is tested


def test_rejected_section_and_origin_version() -> None:
    assert MediaDescription("video", 0, "UDP/TLS/RTP/SAVPF", ["96"]).rejected
    origin = Origin(session_id=7, session_version=2)
    assert origin.next_version() == Origin(session_id=7, session_version=3)


def test_classic_fields_round_trip() -> None:
    text = (
        "v=0\r\n"
        "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n"
        "s=Call to John Smith\r\n"
        "i=SDP Offer #1\r\n"
        "u=http://www.jdoe.example.com/home.html\r\n"
        "e=Jane Doe <jane@jdoe.example.com>\r\n"
        "p=+1 617 555-6011\r\n"
        "c=IN IP4 198.51.100.1\r\n"
        "b=AS:2000\r\n"
        "t=0 0\r\n"
        "t=3724394400 3724398000\r\n"
        "r=604800 3600 0 90000\r\n"
        "z=2882844526 -1h 2898848070 0\r\n"
        "k=prompt\r\n"
        "x=an unknown line\r\n"
        "a=recvonly\r\n"
        "m=audio 49170 RTP/AVP 0\r\n"
        "i=voice\r\n"
        "c=IN IP6 ff1e:03ad::7f2e:172a:1e24/3\r\n"
        "c=IN IP4 233.252.0.1/127/2\r\n"
        "b=TIAS:64000\r\n"
        "k=clear:secret\r\n"
        "y=another unknown line\r\n"
        "a=x-unknown:kept in order\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "m=video 51372/2 RTP/AVP 99\r\n"
        "a=rtpmap:99 h263-1998/90000\r\n"
    )
    description = SessionDescription.parse(text)
    assert str(description) == text
    assert description.origin.username == "jdoe"
    assert description.information == "SDP Offer #1"
    assert description.emails == ["Jane Doe <jane@jdoe.example.com>"]
    assert description.connection == Connection("198.51.100.1")
    assert description.bandwidths == [Bandwidth("AS", 2000)]
    assert description.timings == [
        Timing(0, 0),
        Timing(3724394400, 3724398000, ("604800 3600 0 90000",)),
    ]
    assert description.extra_lines == [Line("x", "an unknown line")]
    audio, video = description.media
    assert audio.connections == [
        Connection("ff1e:03ad::7f2e:172a:1e24", "IP6", count=3),
        Connection("233.252.0.1", ttl=127, count=2),
    ]
    assert audio.extra_lines == [Line("y", "another unknown line")]
    assert audio.attributes[0] == Attribute("x-unknown", "kept in order")
    assert (video.port, video.port_count) == (51372, 2)


def test_tolerated_input_normalises_to_the_rfc_form() -> None:
    sloppy = (
        "v=0\n"
        "o=-  1 2 IN IP4 127.0.0.1\n"
        "\n"
        "s=-\n"
        "a=group:BUNDLE 0\n"
        "t=0 0\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
        "a=mid:0\n"
        "c=IN IP4 0.0.0.0"
    )
    description = SessionDescription.parse(sloppy)
    canonical = (
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
    )
    assert str(description) == canonical
    assert SessionDescription.parse(canonical) == description


def test_missing_timing_is_accepted() -> None:
    description = SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n")
    assert description.timings == [] and description.media == []
    assert str(description) == "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"


HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\r\n\r\n",
        "v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n",
        "o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\ns=-\r\n",
        "v=0\r\ns=-\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n",
        HEAD + "v=0\r\n",
        HEAD + "o=- 1 1 IN IP4 0.0.0.0\r\n",
        HEAD + "s=again\r\n",
        HEAD + "c=IN IP4 0.0.0.0\r\nc=IN IP4 0.0.0.0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nr=1 1 1\r\n",
        HEAD + "m=audio 9 RTP/AVP 0\r\nt=0 0\r\n",
        HEAD + "m=audio 9 RTP/AVP 0\r\ni=a\r\ni=b\r\n",
        HEAD + "m=audio 9 RTP/AVP 0\r\na=mid:0\rb\r\n",
        HEAD + "a=x\x00\r\n",
        HEAD + "a\r\n",
        HEAD + "ab=c\r\n",
        HEAD + "1=c\r\n",
        HEAD + "a=\r\n",
        HEAD + "a=bad name:1\r\n",
        HEAD + "m=audio\r\n",
        HEAD + "m=audio x RTP/AVP 0\r\n",
        HEAD + "m=audio 70000 RTP/AVP 0\r\n",
        HEAD + "m=audio 9/0 RTP/AVP 0\r\n",
        HEAD + "m=audio 9 RTP//AVP 0\r\n",
        HEAD + "c=IN IP4\r\n",
        HEAD + "c=IN IP4 224.2.1.1/300\r\n",
        HEAD + "c=IN IP4 224.2.1.1/1/2/3\r\n",
        HEAD + "c=IN IP6 ff15::101/3/4\r\n",
        HEAD + "b=AS\r\n",
        HEAD + "b=AS:x\r\n",
        "v=0\r\no=- x 1 IN IP4 0.0.0.0\r\ns=-\r\n",
        "v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0\r\n",
    ],
)
def test_malformed_descriptions_raise_sdp_parse_error(text: str) -> None:
    with pytest.raises(SdpParseError):
        SessionDescription.parse(text)


def test_bad_attribute_values_fail_when_read_not_when_parsed() -> None:
    description = SessionDescription.parse(
        HEAD + "m=audio 9 RTP/AVP 0\r\na=rtpmap:zero PCMU/8000\r\na=setup:both\r\n"
    )
    (audio,) = description.media
    with pytest.raises(SdpParseError):
        audio.rtpmaps  # noqa: B018 -- the property is what is tested
    with pytest.raises(SdpParseError):
        audio.setup  # noqa: B018
    assert str(description).endswith("a=rtpmap:zero PCMU/8000\r\na=setup:both\r\n")


def test_constructed_values_are_checked_where_cheap() -> None:
    media = MediaDescription("audio", 9, "RTP/AVP", ["0"])
    with pytest.raises(SdpParseError):
        media.add_attribute("bad name")
    with pytest.raises(SdpParseError):
        media.mid = "two words"
    with pytest.raises(SdpParseError):
        Line("xy", "value")
    with pytest.raises(SdpParseError):
        media.ice_ufrag = "abc"  # shorter than 4 (RFC 8839 §5.4)
    with pytest.raises(SdpParseError):
        media.ice_ufrag = "ab:cd"
    with pytest.raises(SdpParseError):
        media.ice_pwd = "tooshort"
    media.ice_ufrag = "a+/b"
    assert media.ice_ufrag == "a+/b"
