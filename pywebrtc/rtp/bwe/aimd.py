"""The delay-based rate controller (draft-ietf-rmcat-gcc-02 §5.5): additive increase,
multiplicative decrease, driven by the over-use detector's signal.

A three-state machine (§5.5, figure 2): *over-use* moves to Decrease, *under-use* to Hold (the
queue is draining; leave the rate alone until it has), *normal* from Hold to Increase.

* Increase: multiplicative, ``A(i) = eta^dt * A(i-1)`` with ``eta`` = 1.08 per second, while the
  rate is far from the link capacity; additive, about one packet per response time (RTT +
  100 ms), once near it, "near" meaning within three standard deviations of the average of the
  acknowledged rates seen at over-use (§5.5's convergence test). An acknowledged rate beyond that
  band means the capacity changed: the average is forgotten and the increase is multiplicative
  again. The rate never climbs above 1.5 times the acknowledged rate plus 10 kbit/s, so a sender
  that does not use its allowance (audio alone) does not make the estimate run away.
* Decrease: ``A(i) = 0.85 * R(i)``, the acknowledged rate (§5.5, beta = 0.85), never above the
  current rate, then Hold; at most once per round trip (clamped to 10-200 ms) unless the rate is
  still more than twice what is acknowledged.

What we chose beyond the draft: until the first over-use, the increase is 50 % per second
instead of 8 %. libwebrtc reaches the capacity quickly by probing (bursts at 3x and 6x the start
rate); we do not probe, and at 8 % a 300 kbit/s start takes 15 s to find 1 Mbit/s. The same
holds after the link got faster (an acknowledged rate beyond the band, above): until the next
over-use the increase is 50 % per second again, where libwebrtc would probe; at 8 % a squeezed
link's return from 250 kbit/s to 1 Mbit/s took 15 s to be found.
"""

from __future__ import annotations

import enum
import math

from .overuse import BandwidthUsage

__all__ = ["AimdRateControl", "RateControlState"]

BETA = 0.85  # §5.5
_ETA = 1.08  # §5.5, per second
_START_ETA = 1.5  # per second, before the first over-use (see the module docstring)
_MAX_DT = 1.0
_ACKED_HEADROOM = 1.5
_ACKED_EXTRA = 10_000
_MIN_ADDITIVE = 4000.0  # bit/s per second
_PACKET_BITS = 1200 * 8
_FRAME_RATE = 30.0  # packet-size guess for the additive step: a 30 fps stream's frames
_RESPONSE_EXTRA = 0.1  # s added to the RTT


class RateControlState(enum.Enum):
    HOLD = "hold"
    INCREASE = "increase"
    DECREASE = "decrease"


class _LinkCapacity:
    """The average (and spread) of the acknowledged rate at over-use, kbit/s."""

    __slots__ = ("average", "variance")

    def __init__(self) -> None:
        self.average: float | None = None
        self.variance = 0.4  # normalized by the average

    def update(self, kbps: float) -> None:
        if self.average is None:
            self.average = kbps
            return
        self.average = 0.95 * self.average + 0.05 * kbps
        error = self.average - kbps
        self.variance = 0.95 * self.variance + 0.05 * error * error / max(self.average, 1.0)
        self.variance = min(max(self.variance, 0.4), 2.5)

    def deviation(self) -> float:
        assert self.average is not None
        return math.sqrt(self.variance * self.average)

    def near(self, kbps: float) -> bool:
        return self.average is not None and abs(kbps - self.average) <= 3 * self.deviation()

    def above(self, kbps: float) -> bool:
        return self.average is not None and kbps > self.average + 3 * self.deviation()

    def reset(self) -> None:
        self.average = None


class AimdRateControl:
    __slots__ = (
        "_capacity",
        "_last_decrease",
        "_last_update",
        "_searching",
        "bitrate",
        "decreases",
        "max_bitrate",
        "min_bitrate",
        "rtt",
        "state",
    )

    def __init__(self, start_bitrate: int, min_bitrate: int, max_bitrate: int) -> None:
        self.min_bitrate = min_bitrate
        self.max_bitrate = max_bitrate
        self.bitrate = float(min(max(start_bitrate, min_bitrate), max_bitrate))
        self.state = RateControlState.HOLD
        self.rtt = 0.1
        self.decreases = 0
        self._capacity = _LinkCapacity()
        self._last_update: float | None = None
        self._last_decrease: float | None = None
        self._searching = True  # the 50 %/s increase: at the start, and after the link grew

    def update(self, signal: BandwidthUsage, acked: int | None, now: float) -> float:
        """Apply one detector signal (once per feedback); returns the rate, bit/s."""
        dt = 0.0 if self._last_update is None else min(max(now - self._last_update, 0.0), _MAX_DT)
        self._last_update = now
        if signal is BandwidthUsage.OVERUSE:
            self.state = RateControlState.DECREASE
        elif signal is BandwidthUsage.UNDERUSE:
            self.state = RateControlState.HOLD
        elif self.state is not RateControlState.INCREASE:
            self.state = RateControlState.INCREASE
        if self.state is RateControlState.INCREASE:
            self._increase(acked, dt)
        elif self.state is RateControlState.DECREASE:
            self._decrease(acked, now)
            self.state = RateControlState.HOLD
        return self.bitrate

    def _increase(self, acked: int | None, dt: float) -> None:
        capacity = self._capacity
        if acked is not None and capacity.above(acked / 1000):
            capacity.reset()
            self._searching = True  # the link got faster
        rate = self.bitrate
        if acked is not None and capacity.near(acked / 1000):
            rate += self._additive_step() * dt
        else:
            eta = _START_ETA if self._searching else _ETA
            rate *= eta**dt
        if acked is not None:
            rate = min(rate, max(self.bitrate, _ACKED_HEADROOM * acked + _ACKED_EXTRA))
        self.bitrate = min(rate, float(self.max_bitrate))

    def _additive_step(self) -> float:
        """bit/s per second: one average packet per response time."""
        frame_bits = self.bitrate / _FRAME_RATE
        packets = max(1.0, math.ceil(frame_bits / _PACKET_BITS))
        return max(_MIN_ADDITIVE, (frame_bits / packets) / (self.rtt + _RESPONSE_EXTRA))

    def _decrease(self, acked: int | None, now: float) -> None:
        last = self._last_decrease
        wait = min(max(self.rtt, 0.01), 0.2)
        far_above = acked is not None and self.bitrate / 2 > acked
        if last is not None and now - last < wait and not far_above:
            return
        base = self.bitrate if acked is None else float(acked)
        if acked is not None:
            capacity = self._capacity
            if capacity.average is not None and acked / 1000 < (
                capacity.average - 3 * capacity.deviation()
            ):
                capacity.reset()  # the link got slower
            capacity.update(acked / 1000)
        self.bitrate = max(float(self.min_bitrate), min(BETA * base, self.bitrate))
        self._last_decrease = now
        self.decreases += 1
        self._searching = False
