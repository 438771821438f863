"""The per-client token bucket behind ``--rate-limit``, on a fake clock (times passed in), and
the service answering 429 with it."""

from __future__ import annotations

import pytest

from signaling.ratelimit import RateLimiter
from tests.signaling.service import SignalingProcess, request


def test_a_burst_then_the_rate_then_the_refill() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.take("a", 10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", 10.0) == pytest.approx(0.5)  # one token comes back in 1/rate s
    assert limiter.take("a", 10.25) == pytest.approx(0.25)  # refused calls take nothing
    assert limiter.take("a", 10.5) == 0.0
    assert limiter.take("a", 10.5) > 0
    assert [limiter.take("a", 100.0) for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # full again


def test_clients_have_their_own_buckets() -> None:
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.take("192.0.2.1", 0.0) == 0.0
    assert limiter.take("192.0.2.1", 0.0) == pytest.approx(1.0)
    assert limiter.take("192.0.2.2", 0.0) == 0.0


def test_the_table_of_clients_stays_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=2, max_clients=100)
    for n in range(100):
        limiter.take(f"c{n}", 0.0)
    assert len(limiter) == 100
    # Two seconds later every bucket has refilled: they are forgotten to make room.
    limiter.take("new", 2.0)
    assert len(limiter) == 1
    for n in range(99):
        limiter.take(f"d{n}", 2.0)
    # None has refilled yet: the table is cleared rather than grown.
    assert limiter.take("flood", 2.0) == 0.0
    assert len(limiter) == 1


def test_a_limiter_needs_a_positive_rate_and_a_burst_of_one() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 1)
    with pytest.raises(ValueError):
        RateLimiter(1, 0.5)


def test_the_service_answers_429_beyond_a_clients_burst() -> None:
    service = SignalingProcess("--rate-limit", "0.5", "--rate-burst", "2")
    try:
        statuses = []
        for path in ("/whip", "/offer", "/v1/realtime/calls"):  # one bucket for all three
            response = request("POST", service.url + path, {"Content-Type": "application/sdp"})
            statuses.append(response.status_code)
        assert statuses[:2] == [400, 415]  # past the limit, then refused for what they are
        assert statuses[2] == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert "rate limit" in response.text and response.text.count("\n") == 1
        assert request("GET", service.url + "/readyz").status_code == 200  # not limited
    finally:
        assert service.terminate() == 0
        service.close()
