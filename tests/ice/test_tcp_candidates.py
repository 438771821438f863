"""ICE-TCP candidates (RFC 6544): the tcptype syntax round-trips, priorities follow §4.2 (TCP
below UDP, active above passive above S-O for host candidates), and only §6.2's pairs form."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pywebrtc.ice.candidate import (
    Candidate,
    CandidateType,
    candidate_priority,
    host_candidate,
    tcp_active_candidate,
    tcp_candidate_priority,
    transports_pair,
)
from pywebrtc.ice.checklist import can_pair
from pywebrtc.jsep.candidates import parse_candidate
from signaling.sessions import with_tcp_candidates


@pytest.mark.parametrize("tcptype", ["active", "passive", "so"])
def test_tcptype_round_trips(tcptype: str) -> None:
    text = f"1 1 tcp 1518280447 10.0.0.1 443 typ host tcptype {tcptype} generation 0"
    candidate = parse_candidate(text)
    assert candidate.transport == "tcp" and candidate.tcptype == tcptype
    assert candidate.to_sdp() == text


def test_priorities() -> None:
    host = CandidateType.HOST
    active, passive, so = (tcp_candidate_priority(host, t) for t in ("active", "passive", "so"))
    assert candidate_priority(CandidateType.SERVER_REFLEXIVE, 1, 0) > active > passive > so
    # §4.2: local preference = 2^13 * direction-pref + other-pref.
    assert passive == (90 << 24) + (((4 << 13) + 8191) << 8) + 255
    srflx = CandidateType.SERVER_REFLEXIVE
    assert tcp_candidate_priority(srflx, "so") > tcp_candidate_priority(srflx, "active")
    with pytest.raises(ValueError):
        tcp_candidate_priority(host, "both")
    with pytest.raises(ValueError):
        tcp_candidate_priority(host, "active", other_preference=8192)


def test_only_rfc6544_pairs_form() -> None:
    def tcp(tcptype: str) -> Candidate:
        return parse_candidate(f"1 1 tcp 1 10.0.0.2 9 typ host tcptype {tcptype}")

    udp_local = host_candidate("10.0.0.1", 5000)
    local_active = replace(
        parse_candidate("1 1 tcp 1 10.0.0.1 9 typ host tcptype active"), base=("10.0.0.1", 9)
    )
    remote_udp = parse_candidate("1 1 udp 1 10.0.0.2 5000 typ host")
    assert can_pair(udp_local, remote_udp)
    assert not can_pair(udp_local, tcp("passive"))
    assert can_pair(local_active, tcp("passive"))
    assert not can_pair(local_active, tcp("active"))
    assert not can_pair(local_active, tcp("so"))
    assert not can_pair(local_active, remote_udp)
    so = parse_candidate("1 1 tcp 1 10.0.0.1 9 typ host tcptype so")
    assert transports_pair(so, tcp("so"))
    assert not transports_pair(parse_candidate("1 1 tcp 1 10.0.0.1 9 typ host"), tcp("active"))


def test_answers_get_a_passive_candidate_per_relay() -> None:
    sdp = "\r\n".join([
        "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 3478 typ host", "a=end-of-candidates",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:1", "",
    ])  # fmt: skip
    out = with_tcp_candidates(sdp, [("203.0.113.5", 443)]).split("\r\n")
    tcp = [line for line in out if " tcp " in line]
    assert tcp == [
        f"a=candidate:tcp1 1 tcp {tcp_candidate_priority(CandidateType.HOST, 'passive')} "
        "203.0.113.5 443 typ host tcptype passive"
    ]
    assert out.index(tcp[0]) == out.index("a=end-of-candidates") - 1
    assert parse_candidate(tcp[0][len("a=candidate:") :]).tcptype == "passive"
    assert with_tcp_candidates(sdp, []) == sdp


def test_local_active_candidate() -> None:
    candidate = tcp_active_candidate("10.0.0.1", index=1)
    assert candidate.to_sdp().endswith("10.0.0.1 9 typ host tcptype active")
    assert candidate.base == ("10.0.0.1", 9) and candidate.transport == "tcp"
    assert candidate.priority == tcp_candidate_priority(
        CandidateType.HOST, "active", other_preference=8190
    )
    assert candidate.foundation != host_candidate("10.0.0.1", 9).foundation
    assert can_pair(candidate, parse_candidate("1 1 tcp 1 10.0.0.2 443 typ host tcptype passive"))
