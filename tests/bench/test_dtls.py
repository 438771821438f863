"""``bench/piondtls``, Pion's side of ``python -m bench dtls``: built from Debian's pion/dtls,
its DTLS 1.2 client completes handshakes with its server through the impairment proxy in
the two round trips a 1.2 handshake without HelloVerifyRequest takes, and its in-memory
handshakes report a CPU time."""

from __future__ import annotations

from bench import dtls


def test_pion_handshakes_over_the_rtt_path_take_two_round_trips() -> None:
    rtt = 0.02
    times = dtls.pion_setup_over_rtt_ms(rtt, n=4)
    assert len(times) == 4
    # ClientHello -> ServerHello..Done, then Certificate..Finished -> CCS, Finished; the
    # upper bound is well under Pion's first retransmission (1 s), so nothing was resent.
    assert all(2 * rtt * 1000 <= ms < 2 * rtt * 1000 + 800 for ms in times), times


def test_pion_handshake_cpu_time_is_reported() -> None:
    cpu_ms = dtls.pion_cpu_ms(20)
    assert 0 < cpu_ms < 200, cpu_ms
