"""Candidates: priorities (RFC 8445 §5.1.2), foundations, pair priorities, text round trips."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.ice.candidate import (
    Candidate,
    CandidateType,
    candidate_priority,
    compute_foundation,
    host_candidate,
)
from pywebrtc.ice.errors import CandidateParseError
from pywebrtc.ice.pair import pair_priority
from pywebrtc.jsep.candidates import parse_candidate

CHROME = (
    "candidate:842163049 1 udp 1677729535 198.51.100.7 61665 typ srflx raddr 192.168.1.5 "
    "rport 61665 generation 0 ufrag EsAw network-cost 999"
)
FIREFOX_MDNS = (
    "candidate:0 1 UDP 2122252543 3f2a1b3c-1111-2222-3333-444455556666.local 54321 typ host"
)
AIOICE = "6815297761 1 udp 2130706431 127.0.0.1 49152 typ host"


def test_priority_formula() -> None:
    assert candidate_priority(CandidateType.HOST, 1) == (126 << 24) + (65535 << 8) + 255
    assert candidate_priority(CandidateType.RELAYED, 2, 0) == 254
    assert (
        candidate_priority(CandidateType.HOST)
        > candidate_priority(CandidateType.PEER_REFLEXIVE)
        > candidate_priority(CandidateType.SERVER_REFLEXIVE)
        > candidate_priority(CandidateType.RELAYED)
    )


def test_ipv6_host_candidates_rank_above_ipv4() -> None:
    assert host_candidate("::1", 1).priority > host_candidate("127.0.0.1", 1).priority


def test_pair_priority_is_symmetric_between_the_two_agents() -> None:
    a = host_candidate("10.0.0.1", 1)
    b = parse_candidate(CHROME)
    assert pair_priority(a, b, controlling=True) == pair_priority(b, a, controlling=False)
    assert pair_priority(a, b, True) != pair_priority(a, b, False)


def test_foundation_depends_on_type_base_and_server() -> None:
    h = compute_foundation(CandidateType.HOST, "10.0.0.1")
    assert h == compute_foundation(CandidateType.HOST, "10.0.0.1")
    assert h != compute_foundation(CandidateType.HOST, "10.0.0.2")
    assert h != compute_foundation(CandidateType.SERVER_REFLEXIVE, "10.0.0.1", "stun.example")


@pytest.mark.parametrize("text", [CHROME, "a=" + CHROME, CHROME[len("candidate:") :], AIOICE])
def test_parse_browser_and_aioice_candidates(text: str) -> None:
    c = parse_candidate(text)
    assert c.component == 1 and c.transport == "udp"
    again = parse_candidate(c.to_sdp())
    assert again == c
    assert not c.to_sdp().startswith("candidate:")


def test_chrome_srflx_fields() -> None:
    c = parse_candidate(CHROME)
    assert c.type is CandidateType.SERVER_REFLEXIVE
    assert (c.related_address, c.related_port) == ("192.168.1.5", 61665)
    assert ("ufrag", "EsAw") in c.extensions
    assert c.generation == 0 and parse_candidate(AIOICE).generation is None


def test_mdns_name_is_kept() -> None:
    c = parse_candidate(FIREFOX_MDNS)
    assert c.is_mdns and c.host.endswith(".local") and c.transport == "udp"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "candidate:1 1 udp",
        "1 1 udp 100 1.2.3.4 5 typ bogus",
        "1 0 udp 100 1.2.3.4 5 typ host",
        "1 1 udp 100 1.2.3.4 70000 typ host",
        "1 1 udp 100 1.2.3.4 5 host host",
        "1 1 udp 100 1.2.3.4 5 typ host raddr",
    ],
)
def test_malformed_candidates_raise_candidate_parse_error(text: str) -> None:
    with pytest.raises(CandidateParseError):
        parse_candidate(text)


candidates = st.builds(
    Candidate,
    foundation=st.text(alphabet="abcdef0123456789+/", min_size=1, max_size=32),
    component=st.integers(1, 256),
    transport=st.just("udp"),
    priority=st.integers(0, 2**32 - 1),
    host=st.ip_addresses().map(str),
    port=st.integers(0, 65535),
    type=st.sampled_from(list(CandidateType)),
)


@given(candidates)
def test_to_sdp_round_trips(c: Candidate) -> None:
    assert parse_candidate(c.to_sdp()) == c
    assert parse_candidate("candidate:" + c.to_sdp()) == c


@given(st.text(max_size=120))
def test_parser_raises_only_candidate_parse_error(text: str) -> None:
    with contextlib.suppress(CandidateParseError):
        parse_candidate(text)
