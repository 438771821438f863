"""The loss-based rate controller (draft-ietf-rmcat-gcc-02 §6).

Each loss report (a fraction over the packets it covers, from transport-wide feedback or an RTCP
receiver report, RFC 3550 §6.4.1) moves the rate ``As``:

* under 2 % lost: ``As(i) = 1.05 * As(i-1)`` — the path is not the limit;
* 2-10 %: hold;
* over 10 %: ``As(i) = As(i-1) * (1 - 0.5 * p)``, at most once per RTT + 300 ms (§6 leaves the
  pacing open; libwebrtc waits that long so one congestion episode, reported by several
  feedbacks, is answered once).

``As(i-1)`` is the target the sender was using, the lower of this rate and the delay-based one,
so a decrease bites at once. A clean report also lifts the rate to at least the delay-based one:
the path showed no loss at that rate, and a loss-based rate that crept up 5 % per report (one
every 50 packets, :mod:`.estimator`) would hold the target back long after the delay-based
controller found more room. The rate is kept within the configured limits.
"""

from __future__ import annotations

__all__ = ["LossBasedControl"]

LOW_LOSS = 0.02  # §6
HIGH_LOSS = 0.10  # §6
_INCREASE = 1.05  # §6
_DECREASE_PAUSE = 0.3  # s, added to the RTT


class LossBasedControl:
    __slots__ = ("_last_decrease", "bitrate", "fraction_lost", "max_bitrate", "min_bitrate")

    def __init__(self, start_bitrate: int, min_bitrate: int, max_bitrate: int) -> None:
        self.min_bitrate = min_bitrate
        self.max_bitrate = max_bitrate
        self.bitrate = float(start_bitrate)
        self.fraction_lost = 0.0
        self._last_decrease: float | None = None

    def report(self, fraction_lost: float, in_use: float, rtt: float, now: float) -> float:
        """One loss report; ``in_use`` is the target before it (bit/s). Returns this rate."""
        p = min(max(fraction_lost, 0.0), 1.0)
        self.fraction_lost = p
        base = min(self.bitrate, in_use)
        if p < LOW_LOSS:
            rate = max(_INCREASE * base, in_use)
        elif p <= HIGH_LOSS:
            rate = base
        else:
            last = self._last_decrease
            if last is not None and now - last < rtt + _DECREASE_PAUSE:
                return self.bitrate
            self._last_decrease = now
            rate = base * (1 - 0.5 * p)
        self.bitrate = min(max(rate, float(self.min_bitrate)), float(self.max_bitrate))
        return self.bitrate
