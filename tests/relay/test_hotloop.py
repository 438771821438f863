"""The light/burst switch of the forwarding loops, on a fake clock: single datagrams at light
load, recvmmsg batches from 8 datagrams within 8 × 20 µs on, and back after a batch of one.
(tests/relay/test_server.py runs the loops themselves over loopback sockets.)"""

from __future__ import annotations

from relay.hotloop import alternate


def drive(arrivals: list[float], batches: list[int], light: bool = True) -> tuple[list[str], int]:
    """Run ``alternate`` over datagrams read one at a time at ``arrivals`` (fake clock) and
    batches of the sizes in ``batches``; the reads in order, and how many clock reads."""
    reads: list[str] = []
    now = [0.0]
    looks = [0]

    def one() -> bool:
        if not arrivals:
            return False
        now[0] = arrivals.pop(0)
        reads.append("one")
        return True

    def many() -> int:
        if not batches:
            return -1
        n = batches.pop(0)
        reads.append(f"many:{n}")
        return n

    def clock() -> float:
        looks[0] += 1
        return now[0]

    alternate(one, many, clock, light)
    return reads, looks[0]


def test_light_load_reads_one_datagram_at_a_time_and_looks_at_the_clock_every_eighth() -> None:
    arrivals = [i * 1e-3 for i in range(1, 25)]  # 1 ms apart: never a burst
    reads, looks = drive(arrivals, [5])
    assert reads == ["one"] * 24
    assert looks == 3


def test_eight_datagrams_within_160_us_switch_to_batches_and_a_batch_of_one_back() -> None:
    light = [i * 1e-3 for i in range(1, 9)]
    # The clock is looked at every 8th datagram: the look after the 24th is 8 × 15 µs after
    # the one before it (8 datagrams within 8 × 20 µs), a burst.
    burst = [0.01 + i * 15e-6 for i in range(16)]
    after = [1.0 + i * 1e-3 for i in range(8)]
    reads, looks = drive(light + burst + after, [32, 7, 1, 4])
    assert reads == ["one"] * 24 + ["many:32", "many:7", "many:1"] + ["one"] * 8
    assert looks == 4


def test_a_slow_trickle_of_eight_does_not_switch() -> None:
    slow = [i * 25e-6 for i in range(1, 17)]  # 8 take 200 µs > 160 µs
    reads, _ = drive(slow, [3])
    assert reads == ["one"] * 16


def test_without_single_datagrams_only_batches_are_read() -> None:
    reads, looks = drive([0.0] * 4, [1, 1, 3], light=False)
    assert reads == ["many:1", "many:1", "many:3"]
    assert looks == 0


def test_an_empty_batch_keeps_batches() -> None:
    reads, _ = drive([0.1 * i for i in range(1, 9)], [0, 0, 2, 1], light=False)
    assert reads == ["many:0", "many:0", "many:2", "many:1"]
