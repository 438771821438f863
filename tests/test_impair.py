"""The impairment proxy's sans-IO core on a fake clock: seeded loss, delay, jitter, reordering,
duplication and a rate limit, each doing what it says and nothing else."""

from __future__ import annotations

import pytest

from tests.impair import Impairer, Impairment


def _run(
    spec: Impairment, count: int = 1000, size: int = 100, every: float = 0.001
) -> list[tuple[float, bytes]]:
    """Push ``count`` numbered packets ``every`` seconds apart; what comes out, and when."""
    impairer = Impairer(spec, seed=7)
    out: list[tuple[float, bytes]] = []
    for n in range(count):
        now = n * every
        impairer.push(now, n.to_bytes(4, "big") + bytes(size - 4))
        while (due := impairer.next_due()) is not None and due < (n + 1) * every:
            out += [(due, p) for p in impairer.pop(due)]  # each at the moment it is due
    while (due := impairer.next_due()) is not None:
        out += [(due, p) for p in impairer.pop(due)]
    return out


def _numbers(out: list[tuple[float, bytes]]) -> list[int]:
    return [int.from_bytes(p[:4], "big") for _, p in out]


def test_no_impairment_is_a_wire() -> None:
    out = _run(Impairment())
    assert _numbers(out) == list(range(1000))
    assert all(t == n * 0.001 for (t, _), n in zip(out, range(1000), strict=True))


def test_loss_is_seeded_and_near_its_rate() -> None:
    first, second = _run(Impairment(loss=0.1)), _run(Impairment(loss=0.1))
    assert first == second  # the same seed, the same losses
    assert 850 <= len(first) <= 950
    assert _numbers(first) == sorted(_numbers(first))


def test_delay_and_jitter_bound_each_packet() -> None:
    out = _run(Impairment(delay=0.05, jitter=0.01))
    sent = {n: n * 0.001 for n in range(1000)}
    latencies = [t - sent[n] for (t, _), n in zip(out, _numbers(out), strict=True)]
    assert min(latencies) >= 0.05 - 1e-9 and max(latencies) <= 0.06 + 1e-9
    assert sorted(_numbers(out)) == list(range(1000))


def test_reordering_holds_some_packets_back() -> None:
    numbers = _numbers(_run(Impairment(reorder=0.1, reorder_delay=0.005)))
    assert sorted(numbers) == list(range(1000))
    late = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b < a)
    assert 50 <= late <= 150


def test_duplication_sends_copies() -> None:
    numbers = _numbers(_run(Impairment(duplicate=0.2)))
    assert set(numbers) == set(range(1000))
    assert 1150 <= len(numbers) <= 1250


def test_rate_limit_serialises_and_drops_beyond_the_queue() -> None:
    # 100-byte packets every 1 ms = 100 kB/s offered to a 50 kB/s link with a 0.1 s queue.
    out = _run(Impairment(rate=50_000, queue=0.1))
    times = [t for t, _ in out]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.002 - 1e-9  # one 100-byte packet per 2 ms
    assert 480 <= len(out) <= 560  # half the offered load, plus the queue
    assert times[-1] <= 1.0 + 0.1 + 0.002


def test_bad_specs_are_value_errors() -> None:
    with pytest.raises(ValueError):
        Impairment(loss=1.5)
    with pytest.raises(ValueError):
        Impairment(delay=-1)
    with pytest.raises(ValueError):
        Impairment(rate=0)
