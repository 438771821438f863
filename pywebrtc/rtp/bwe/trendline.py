"""The delay trend of packet groups: a least-squares slope of smoothed accumulated delay
variation over the last groups.

draft-ietf-rmcat-gcc-02 §5.3 estimates the queuing delay gradient ``m(i)`` with a Kalman
filter; libwebrtc (goog_cc's trendline estimator) and Pion replaced it with this filter, which
reacts as fast and has no noise model to tune. Each completed group adds its delay variation
``d(i)`` (§5.1) to an accumulated delay; an exponential smoothing of that (``SMOOTHING``) is
plotted against the group's arrival time, and the slope of the last ``WINDOW`` points says
whether the queue is growing (positive), steady (about 0) or draining (negative). The output,
the *modified trend*, is the slope times ``min(groups seen, 60)`` times ``GAIN``: it is
compared against the adaptive threshold of §5.4 in milliseconds (:mod:`.overuse`), and the
factor keeps the first few noisy slopes from looking like over-use.
"""

from __future__ import annotations

from collections import deque

from .inter_arrival import GroupDelta

__all__ = ["GAIN", "SMOOTHING", "WINDOW", "TrendlineFilter"]

WINDOW = 20  # groups in the regression
SMOOTHING = 0.9  # weight of the previous smoothed delay
GAIN = 4.0
_MAX_COUNT = 60  # the "min(groups seen, 60)" factor


class TrendlineFilter:
    __slots__ = ("_accumulated", "_count", "_first_arrival", "_points", "_smoothed", "trend")

    def __init__(self) -> None:
        self._points: deque[tuple[float, float]] = deque(maxlen=WINDOW)
        self._accumulated = 0.0  # ms
        self._smoothed = 0.0  # ms
        self._first_arrival: float | None = None
        self._count = 0
        self.trend = 0.0  # the last modified trend, ms

    @property
    def groups(self) -> int:
        """Groups seen (at most 1000): the detector ignores the first two."""
        return self._count

    def update(self, delta: GroupDelta) -> float:
        """Add one group's delay variation; return the modified trend (ms)."""
        if self._count < 1000:
            self._count += 1
        self._accumulated += delta.delay_variation * 1000.0
        self._smoothed = SMOOTHING * self._smoothed + (1 - SMOOTHING) * self._accumulated
        if self._first_arrival is None:
            self._first_arrival = delta.arrival_time
        x = (delta.arrival_time - self._first_arrival) * 1000.0
        self._points.append((x, self._smoothed))
        if len(self._points) == WINDOW:
            slope = _slope(self._points)
            if slope is not None:
                self.trend = min(self._count, _MAX_COUNT) * slope * GAIN
        return self.trend


def _slope(points: deque[tuple[float, float]]) -> float | None:
    n = len(points)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    num = 0.0
    den = 0.0
    for x, y in points:
        dx = x - mean_x
        num += dx * (y - mean_y)
        den += dx * dx
    return num / den if den > 0 else None
