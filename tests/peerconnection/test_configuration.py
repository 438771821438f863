"""RTCConfiguration URLs, RTCSessionDescription types and RTCIceCandidate conversions."""

from __future__ import annotations

import pytest

from pywebrtc import RTCIceCandidate, RTCSessionDescription, candidate_from_sdp, candidate_to_sdp
from pywebrtc.configuration import parse_server_url

CHROME_CANDIDATE = (
    "candidate:2989624193 1 udp 2122194687 192.0.2.2 52889 typ host generation 0 network-id 1"
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("stun:stun.example.org", ("stun", "stun.example.org", 3478, "udp")),
        ("stun:192.0.2.1:19302", ("stun", "192.0.2.1", 19302, "udp")),
        ("turn:[2001:db8::1]:3479?transport=udp", ("turn", "2001:db8::1", 3479, "udp")),
        ("turns:turn.example.org?transport=tcp", ("turns", "turn.example.org", 5349, "tcp")),
    ],
)
def test_ice_server_urls(url: str, expected: tuple[str, str, int, str]) -> None:
    assert parse_server_url(url) == expected


@pytest.mark.parametrize("url", ["http://x", "stun:", "stun:host:notaport", "turn:host:70000"])
def test_bad_ice_server_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_server_url(url)


def test_session_description_type_is_checked() -> None:
    assert RTCSessionDescription("v=0\r\n", "offer").type == "offer"
    with pytest.raises(ValueError):
        RTCSessionDescription("v=0\r\n", "bogus")


def test_candidate_round_trips_through_sdp_and_json() -> None:
    candidate = candidate_from_sdp(CHROME_CANDIDATE)
    assert (candidate.ip, candidate.port, candidate.type) == ("192.0.2.2", 52889, "host")
    assert candidate.protocol == "udp" and candidate.priority == 2122194687
    assert candidate_to_sdp(candidate).startswith("2989624193 1 udp 2122194687 192.0.2.2 52889")
    candidate.sdpMid, candidate.sdpMLineIndex = "0", 0
    again = RTCIceCandidate.from_json(candidate.to_json())
    assert again == candidate
    assert RTCIceCandidate.from_json({"candidate": "", "sdpMid": "0"}) is None
    with pytest.raises(ValueError):
        RTCIceCandidate.from_json({"candidate": "candidate:garbage"})


def test_secrets_stay_out_of_reprs() -> None:
    """TURN credentials and ICE passwords end up in logs through reprs; they must not."""
    from pywebrtc import RTCIceServer
    from pywebrtc.jsep.negotiation import LocalTransport

    server = RTCIceServer("turn:127.0.0.1:3478", username="alice", credential="hunter2-secret")
    transport = LocalTransport(ice_ufrag="ufrag", ice_pwd="the-ice-password-xyz", fingerprints=())
    assert "alice" in repr(server) and "hunter2-secret" not in repr(server)
    assert "ufrag" in repr(transport) and "the-ice-password-xyz" not in repr(transport)
