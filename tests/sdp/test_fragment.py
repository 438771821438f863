"""Trickle ICE sdpfrag bodies (RFC 8840 §9), as a WHIP client PATCHes them (RFC 9725 §4.3)."""

from __future__ import annotations

import pytest

from pywebrtc.sdp import (
    Candidate,
    CandidateType,
    Group,
    IceOptions,
    MediaDescription,
    SdpFragment,
    SdpParseError,
)

TRICKLE = (
    "a=ice-options:trickle ice2\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=mid:0\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw "
    "network-id 1\r\n"
    "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 "
    "ufrag EsAw network-id 2\r\n"
    "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0 "
    "ufrag EsAw network-id 1\r\n"
    "a=end-of-candidates\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "a=mid:1\r\n"
)


def test_trickle_fragment_round_trips_and_reads_typed() -> None:
    fragment = SdpFragment.parse(TRICKLE)
    assert str(fragment) == TRICKLE
    assert fragment.ice_options == IceOptions(("trickle", "ice2"))
    assert fragment.values(Group) == [Group("BUNDLE", ("0", "1"))]
    audio, data = fragment.media
    assert audio.mid == "0" and audio.ice_ufrag == "EsAw" and audio.end_of_candidates
    assert [c.port for c in audio.candidates] == [61764, 61765, 9]
    assert audio.candidates[2].tcptype == "active"
    assert data.mid == "1" and data.candidates == []


def test_fragment_built_from_scratch() -> None:
    fragment = SdpFragment()
    fragment.ice_ufrag = "Xrelay0key"
    fragment.ice_pwd = "asd88fgpdd777uzjYhagZg00"
    media = MediaDescription("audio", 9, "RTP/AVP", ["0"])
    media.mid = "0"
    media.add(Candidate("1", 1, "udp", 2130706431, "203.0.113.1", 3478, CandidateType.HOST))
    media.end_of_candidates = True
    fragment.media.append(media)
    assert str(fragment) == (
        "a=ice-ufrag:Xrelay0key\r\n"
        "a=ice-pwd:asd88fgpdd777uzjYhagZg00\r\n"
        "m=audio 9 RTP/AVP 0\r\n"
        "a=mid:0\r\n"
        "a=candidate:1 1 udp 2130706431 203.0.113.1 3478 typ host\r\n"
        "a=end-of-candidates\r\n"
    )
    assert SdpFragment.parse(str(fragment)) == fragment


def test_empty_fragment_is_empty() -> None:
    assert SdpFragment.parse("") == SdpFragment()
    assert str(SdpFragment()) == ""


@pytest.mark.parametrize(
    "text",
    [
        "v=0\r\n",
        "o=- 1 1 IN IP4 0.0.0.0\r\n",
        "c=IN IP4 0.0.0.0\r\n",
        "m=audio 9 RTP/AVP 0\r\nt=0 0\r\n",
        "a=\r\n",
        "m=audio\r\n",
        "a=candidate\r\nx",
    ],
)
def test_malformed_fragments_raise_sdp_parse_error(text: str) -> None:
    with pytest.raises(SdpParseError):
        SdpFragment.parse(text)
