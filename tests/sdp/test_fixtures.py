"""Real SDP from Chromium, Firefox ESR, libwebrtc (Node wrtc) and aiortc, captured on this
machine (tests/fixtures/sdp/README.md): each survives parse → str byte for byte, and its typed
values read back as the peer wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pywebrtc.sdp import (
    AddressKind,
    Candidate,
    CandidateType,
    Direction,
    Extmap,
    Fingerprint,
    Fmtp,
    MsidSemantic,
    Rtcp,
    RtcpFb,
    Rtpmap,
    SessionDescription,
    Setup,
    SsrcGroup,
    TcpType,
    TransportProtocol,
)
from tests.sdp.views import typed_views

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sdp"
ALL = sorted(path.name for path in FIXTURES.glob("*.sdp"))


def load(name: str) -> str:
    # newline="" keeps the CRLF line ends as captured.
    with open(FIXTURES / name, newline="") as file:
        return file.read()


def parse(name: str) -> SessionDescription:
    return SessionDescription.parse(load(name))


def test_every_expected_fixture_is_present() -> None:
    assert ALL == [
        "aiortc-offer-audio-data.sdp",
        "chrome-answer-to-aiortc.sdp",
        "chrome-offer-audio-video-data.sdp",
        "chrome-offer-audio.sdp",
        "chrome-offer-data.sdp",
        "firefox-offer-audio-video-data.sdp",
        "firefox-offer-audio.sdp",
        "firefox-offer-data.sdp",
        "libwebrtc-offer-audio.sdp",
        "libwebrtc-offer-data.sdp",
    ]


@pytest.mark.parametrize("name", ALL)
def test_fixture_round_trips_byte_for_byte(name: str) -> None:
    text = load(name)
    assert text.endswith("\r\n")
    description = SessionDescription.parse(text)
    assert str(description) == text
    assert SessionDescription.parse(str(description)) == description


@pytest.mark.parametrize("name", ALL)
def test_every_typed_view_of_a_fixture_parses(name: str) -> None:
    description = parse(name)
    assert description.group("BUNDLE") is not None
    assert description.msid_semantic is not None
    # Captured after gathering, so candidates are in (at least on the bundle's first section).
    assert description.media[0].candidates
    for media in description.media:
        assert media.mid is not None
        for candidate in media.candidates:
            assert Candidate.parse(str(candidate)) == candidate
        assert media.fingerprints or description.fingerprints
        assert (media.setup or description.setup) is not None
        assert (media.ice_ufrag or description.ice_ufrag) is not None
        assert (media.ice_pwd or description.ice_pwd) is not None
        for rtpmap in media.rtpmaps:
            assert rtpmap.payload_type in media.payload_types
    for view in typed_views(description):
        view()


def test_chrome_audio_video_data_offer() -> None:
    description = parse("chrome-offer-audio-video-data.sdp")
    assert description.origin.username == "-"
    assert description.origin.session_id == 7817176051097235224
    assert description.origin.session_version == 2
    assert description.group("BUNDLE") is not None
    assert description.group("BUNDLE").mids == ("0", "1", "2")  # type: ignore[union-attr]
    assert description.extmap_allow_mixed
    assert description.msid_semantic == MsidSemantic(
        "WMS", ("d52ce359-84e9-45a2-86e1-8461f59a7d51",)
    )
    audio, video, data = description.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 43241, "UDP/TLS/RTP/SAVPF")
    assert audio.payload_types == [111, 63, 9, 0, 8, 13, 110, 126]
    assert audio.ice_ufrag == "NDNr"
    assert audio.ice_options is not None and audio.ice_options.trickle
    assert audio.fingerprints == [
        Fingerprint(
            "sha-256",
            "54:A4:6A:0B:8B:33:25:3F:DC:B8:B9:DE:79:17:A6:6C:6D:88:B3:45:EE:80:31:54:DA:9E:B0:4D:2E:59:FF:3B",
        )
    ]
    assert audio.fingerprints[0].algorithm == "sha-256"
    assert len(audio.fingerprints[0].digest) == 32
    assert audio.setup is Setup.ACTPASS
    assert audio.direction is Direction.SENDRECV
    assert audio.rtcp == Rtcp(9, "IN", "IP4", "0.0.0.0")
    assert audio.rtcp_mux and audio.rtcp_rsize and not audio.rtcp_mux_only
    assert audio.rtpmap(111) == Rtpmap(111, "opus", 48000, 2)
    opus_fmtp = audio.fmtp(111)
    assert opus_fmtp == Fmtp(111, (("minptime", "10"), ("useinbandfec", "1")))
    assert opus_fmtp.get("useinbandfec") == "1"
    assert audio.fmtp(63) == Fmtp(63, (("111/111", None),))  # RED, not key=value
    assert audio.rtpmap(126) == Rtpmap(126, "telephone-event", 8000)
    assert audio.feedback_for(111) == [RtcpFb(111, "transport-cc")]
    assert [e.id for e in audio.extmaps] == [1, 2, 3, 4]
    assert audio.extmaps[3] == Extmap(4, "urn:ietf:params:rtp-hdrext:sdes:mid")
    assert [(s.attribute, s.value) for s in audio.ssrcs][0] == ("cname", "C5x+gVK4xd0jf3F4")
    assert audio.candidates[0] == Candidate(
        "1058700622",
        1,
        "udp",
        2122194687,
        "192.0.2.2",
        43241,
        CandidateType.HOST,
        extensions=(("generation", "0"), ("network-id", "1")),
    )

    assert video.payload_types[:2] == [96, 97]
    assert video.rtpmap(97) == Rtpmap(97, "rtx", 90000)
    assert video.fmtp(97) == Fmtp(97, (("apt", "96"),))
    assert RtcpFb(96, "nack", "pli") in video.rtcp_feedback
    assert RtcpFb(96, "ccm", "fir") in video.rtcp_feedback
    assert video.ssrc_groups == [SsrcGroup("FID", (1316042324, 2849653263))]
    assert {e.id for e in video.extmaps} >= {10, 11, 13, 14}

    assert data.proto == "UDP/DTLS/SCTP" and data.formats == ["webrtc-datachannel"]
    assert data.sctp_port == 5000 and data.max_message_size == 262144
    assert data.mid == "2"
    tcp = [c for c in data.candidates if c.protocol is TransportProtocol.TCP]
    assert tcp and all(c.tcptype == TcpType.ACTIVE and c.port == 9 for c in tcp)
    assert {c.address_kind for c in data.candidates} == {AddressKind.IPV4, AddressKind.IPV6}


def test_chrome_data_offer_has_empty_wms() -> None:
    description = parse("chrome-offer-data.sdp")
    assert description.attribute("msid-semantic") is not None
    assert description.msid_semantic == MsidSemantic("WMS", ())
    (data,) = description.media
    assert data.media == "application" and data.sctp_port == 5000


def test_chrome_answer_to_aiortc() -> None:
    description = parse("chrome-answer-to-aiortc.sdp")
    audio, data = description.media
    assert audio.setup is Setup.ACTIVE and data.setup is Setup.ACTIVE
    assert audio.ice_ufrag == "xXgl"
    assert audio.payload_types == [96, 9, 0, 8]
    assert audio.rtpmap(96) == Rtpmap(96, "opus", 48000, 2)
    assert [(e.id, e.uri) for e in audio.extmaps] == [
        (2, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        (1, "urn:ietf:params:rtp-hdrext:sdes:mid"),
    ]
    assert data.port == 9


def test_firefox_audio_video_data_offer() -> None:
    description = parse("firefox-offer-audio-video-data.sdp")
    assert description.origin.username == "mozilla...THIS_IS_SDPARTA-99.0"
    assert description.direction is Direction.SENDRECV  # Firefox puts one at session level
    assert description.fingerprints[0].algorithm == "sha-256"
    assert description.fingerprints[0].value.startswith("FA:A6:12")
    assert description.ice_options is not None and description.ice_options.trickle
    assert description.msid_semantic == MsidSemantic("WMS", ("*",))
    audio, video, data = description.media
    assert audio.ice_ufrag == "e53611e4" and audio.ice_pwd == "29633a7632d53952f83a11d20b61c68b"
    assert audio.end_of_candidates
    assert audio.rtpmap(109) == Rtpmap(109, "opus", 48000, 2)
    assert audio.rtpmap(9) == Rtpmap(9, "G722", 8000, 1)
    assert audio.fmtp(109) is not None
    assert audio.fmtp(109).as_dict() == {  # type: ignore[union-attr]
        "maxplaybackrate": "48000",
        "stereo": "1",
        "useinbandfec": "1",
    }
    assert audio.fmtp(101) == Fmtp(101, (("0-15", None),))  # telephone-event events
    assert Extmap(2, "urn:ietf:params:rtp-hdrext:csrc-audio-level", Direction.RECVONLY) in (
        audio.extmaps
    )
    assert audio.rtcp == Rtcp(44389, "IN", "IP4", "ffb767ef-d819-449a-a732-d835a21b8649.local")
    host = audio.candidates[0]
    assert host.transport == "UDP" and host.protocol is TransportProtocol.UDP
    assert host.address_kind is AddressKind.MDNS
    assert host.extensions == ()
    assert {c.component for c in audio.candidates} == {1, 2}
    assert video.ssrc_groups == [SsrcGroup("FID", (1658238918, 4284988542))]
    assert data.max_message_size == 1073741823


def test_libwebrtc_audio_offer_has_loopback_and_passive_tcp() -> None:
    (audio,) = parse("libwebrtc-offer-audio.sdp").media
    assert audio.ice_ufrag == "BqS3"
    passive = [c for c in audio.candidates if c.tcptype == TcpType.PASSIVE]
    assert {c.address for c in passive} == {"192.0.2.2", "fd00::2", "::1", "127.0.0.1"}
    assert all(c.network_id is not None and c.generation == 0 for c in audio.candidates)


def test_aiortc_offer_lists_three_fingerprints() -> None:
    description = parse("aiortc-offer-audio-data.sdp")
    audio, data = description.media
    assert [f.algorithm for f in audio.fingerprints] == ["sha-256", "sha-384", "sha-512"]
    assert [len(f.digest) for f in audio.fingerprints] == [32, 48, 64]
    assert audio.candidates[0].foundation == "f957a2332b1715da3b0ef8ba684454eb"
    assert data.end_of_candidates and data.sctp_port == 5000
