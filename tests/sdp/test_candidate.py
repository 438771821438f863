"""The ``candidate`` attribute value (RFC 8839 §5.1) in the forms Chrome and Firefox write it."""

from __future__ import annotations

import pytest

from pywebrtc.sdp import (
    AddressKind,
    Candidate,
    CandidateType,
    SdpParseError,
    TcpType,
    TransportProtocol,
)

# Host, mDNS, srflx/relay (with the raddr 0.0.0.0 that hides the host address), IPv6 and TCP
# candidates as the two browsers format them. The host ones are from tests/fixtures/sdp;
# srflx/relay/prflx are in the same formats with documentation addresses.
CHROME = [
    "candidate:3064243054 1 udp 2122194687 192.0.2.2 38062 typ host generation 0 network-id 1",
    "candidate:2983645150 1 udp 2122265343 fd00::2 40116 typ host generation 0 network-id 2",
    "candidate:3474533702 1 tcp 1518285567 fd00::2 9 typ host tcptype active generation 0 "
    "network-id 2",
    "candidate:1876313031 1 tcp 1518157055 ::1 50357 typ host tcptype passive generation 0 "
    "network-id 4",
    "candidate:2448285093 1 udp 2113937151 2f5d7a62-1a9e-4c1b-9c39-1d2b0c5e8f41.local 54400 "
    "typ host generation 0 ufrag u0+Q network-cost 999",
    "candidate:842163049 1 udp 1677729535 203.0.113.7 61820 typ srflx raddr 0.0.0.0 rport 0 "
    "generation 0 ufrag u0+Q network-cost 999",
    "candidate:1966762133 1 udp 33562367 198.51.100.9 55555 typ relay raddr 203.0.113.7 "
    "rport 61820 generation 0 ufrag u0+Q network-cost 999",
]
FIREFOX = [
    "candidate:0 1 UDP 2122187007 91f3de64-9cbf-49ae-9a41-e3578f894605.local 55892 typ host",
    "candidate:1 2 UDP 2122252542 7b4d7306-ef8b-4115-9643-4cdb26ffc2fa.local 60490 typ host",
    "candidate:2 1 TCP 2105458943 91f3de64-9cbf-49ae-9a41-e3578f894605.local 9 typ host "
    "tcptype active",
    "candidate:1 1 UDP 2122252543 2001:db8::1 57040 typ host",
    "candidate:3 1 UDP 1686052607 203.0.113.7 55892 typ srflx raddr 0.0.0.0 rport 0",
    "candidate:4 1 UDP 8331263 198.51.100.9 51234 typ relay raddr 198.51.100.9 rport 51234",
    "candidate:5 1 TCP 1015022079 203.0.113.7 9 typ prflx raddr 0.0.0.0 rport 0 tcptype so",
]


@pytest.mark.parametrize("text", CHROME + FIREFOX)
def test_browser_candidate_strings_round_trip(text: str) -> None:
    candidate = Candidate.parse(text)
    assert candidate.to_sdp_attribute() == text
    assert str(candidate) == text.removeprefix("candidate:")
    assert Candidate.parse(str(candidate)) == candidate


def test_chrome_host_candidate_fields() -> None:
    candidate = Candidate.parse(CHROME[0])
    assert candidate == Candidate(
        foundation="3064243054",
        component=1,
        transport="udp",
        priority=2122194687,
        address="192.0.2.2",
        port=38062,
        type=CandidateType.HOST,
        extensions=(("generation", "0"), ("network-id", "1")),
    )
    assert candidate.protocol is TransportProtocol.UDP
    assert candidate.address_kind is AddressKind.IPV4
    assert candidate.generation == 0 and candidate.network_id == 1
    assert candidate.network_cost is None and candidate.ufrag is None


def test_mdns_host_and_its_extensions() -> None:
    candidate = Candidate.parse(CHROME[4])
    assert candidate.address_kind is AddressKind.MDNS
    assert candidate.address == "2f5d7a62-1a9e-4c1b-9c39-1d2b0c5e8f41.local"
    assert candidate.ufrag == "u0+Q"
    assert candidate.network_cost == 999


def test_srflx_with_hidden_related_address() -> None:
    candidate = Candidate.parse(CHROME[5])
    assert candidate.type == CandidateType.SRFLX
    assert candidate.related_address == "0.0.0.0" and candidate.related_port == 0
    assert candidate.extensions == (("generation", "0"), ("ufrag", "u0+Q"), ("network-cost", "999"))


def test_relay_and_prflx() -> None:
    relay = Candidate.parse(FIREFOX[5])
    assert relay.type is CandidateType.RELAY
    assert (relay.related_address, relay.related_port) == ("198.51.100.9", 51234)
    prflx = Candidate.parse(FIREFOX[6])
    assert prflx.type is CandidateType.PRFLX
    assert prflx.tcptype is TcpType.SO and prflx.protocol is TransportProtocol.TCP


def test_transport_is_case_insensitive_but_kept_as_written() -> None:
    upper = Candidate.parse(FIREFOX[2])
    assert upper.transport == "TCP" and upper.protocol is TransportProtocol.TCP
    assert upper.tcptype is TcpType.ACTIVE
    assert Candidate.parse("1 1 Udp 1 192.0.2.1 1 typ host").protocol is TransportProtocol.UDP
    assert Candidate.parse("1 1 sctp 1 192.0.2.1 1 typ host").protocol is None


def test_ipv6_and_hostnames_are_told_apart() -> None:
    assert Candidate.parse(FIREFOX[3]).address_kind is AddressKind.IPV6
    assert Candidate.parse(CHROME[3]).address_kind is AddressKind.IPV6
    fqdn = Candidate.parse("1 1 udp 1 turn.example.com 3478 typ relay")
    assert fqdn.address_kind is AddressKind.FQDN


def test_prefix_is_optional_and_case_insensitive() -> None:
    bare = Candidate.parse(FIREFOX[0].removeprefix("candidate:"))
    assert bare == Candidate.parse(FIREFOX[0])
    assert Candidate.parse("Candidate:" + str(bare)) == bare


def test_unknown_type_and_extensions_are_kept_in_order() -> None:
    text = "7 1 udp 5 192.0.2.1 9 typ future zeta 1 alpha 2 tcptype passive"
    candidate = Candidate.parse(text)
    assert candidate.type == "future"
    assert candidate.extensions == (("zeta", "1"), ("alpha", "2"))
    assert candidate.tcptype is TcpType.PASSIVE
    assert candidate.extension("alpha") == "2" and candidate.extension("beta") is None
    # tcptype is written right after the related address, where RFC 6544 and browsers put it.
    assert str(candidate) == "7 1 udp 5 192.0.2.1 9 typ future tcptype passive zeta 1 alpha 2"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "candidate:",
        "1 1 udp 1 192.0.2.1 9 host",
        "1 1 udp 1 192.0.2.1 9 type host",
        "1 1 udp 1 192.0.2.1 9 typ",
        "1 1 udp 1 192.0.2.1 9 typ host generation",
        "1 1 udp 1 192.0.2.1 9 typ host generation x",
        "1 1 udp 1 192.0.2.1 9 typ host network-id -1",
        "1 1 udp 1 192.0.2.1 9 typ host tcptype sideways",
        "1 1 udp 1 192.0.2.1 9 typ srflx raddr 0.0.0.0 rport 65536",
        "1 1 udp 1 192.0.2.1 65536 typ host",
        "1 0 udp 1 192.0.2.1 9 typ host",
        "1 257 udp 1 192.0.2.1 9 typ host",
        "1 1 udp 4294967296 192.0.2.1 9 typ host",
        "1 1 udp -1 192.0.2.1 9 typ host",
        "1 1 udp 1 192.0.2.1 ９ typ host",  # a full-width digit is not DIGIT
        "a-b 1 udp 1 192.0.2.1 9 typ host",
        "123456789012345678901234567890123 1 udp 1 192.0.2.1 9 typ host",
        "1 1 u(p 1 192.0.2.1 9 typ host",
        "1 1 udp 1 192.0.2.1 9 typ h@st",
        "1 1 udp 99999999999999999999999999999999999999999999 192.0.2.1 9 typ host",
    ],
)
def test_malformed_candidates_raise_sdp_parse_error(text: str) -> None:
    with pytest.raises(SdpParseError):
        Candidate.parse(text)


def test_sdp_parse_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Candidate.parse("nonsense")
