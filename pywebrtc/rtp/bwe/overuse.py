"""The over-use detector with its adaptive threshold (draft-ietf-rmcat-gcc-02 §5.4).

The modified trend ``m(i)`` (:mod:`.trendline`, ms) is compared with a threshold
``del_var_th``: above it for longer than ``OVERUSE_TIME`` (10 ms, §5.4 overuse_time_th) and
more than once in a row while still rising, the signal is *over-use*; below minus the threshold,
*under-use*; otherwise *normal*. The threshold follows ``|m(i)|``,
``del_var_th(i) = del_var_th(i-1) + dt * K(i) * (|m(i)| - del_var_th(i-1))``, faster up than
down, so a flow competing with loss-based TCP is not starved (the reason §5.4 gives) and
transient noise does not trigger. The draft's gains are for its Kalman estimate; these (and
``dt`` capped at 100 ms, a trend far above the threshold not moving it) are the values libwebrtc
tuned for the trendline filter.
"""

from __future__ import annotations

import enum

__all__ = ["BandwidthUsage", "OveruseDetector"]

INITIAL_THRESHOLD = 12.5  # ms, §5.4
OVERUSE_TIME = 0.010  # s, §5.4 overuse_time_th
_K_UP = 0.0087  # per ms of dt, when |m| is above the threshold
_K_DOWN = 0.039  # per ms of dt, when below
_MAX_ADAPT_OFFSET = 15.0  # ms: a trend this far above the threshold is a spike, not a level
_MIN_THRESHOLD = 6.0
_MAX_THRESHOLD = 600.0
_MAX_STEP = 0.1  # s


class BandwidthUsage(enum.Enum):
    NORMAL = "normal"
    OVERUSE = "overuse"
    UNDERUSE = "underuse"


class OveruseDetector:
    __slots__ = ("_last_update", "_over_count", "_over_time", "_previous", "state", "threshold")

    def __init__(self) -> None:
        self.threshold = INITIAL_THRESHOLD
        self.state = BandwidthUsage.NORMAL
        self._over_time: float | None = None
        self._over_count = 0
        self._previous = 0.0
        self._last_update: float | None = None

    def detect(self, trend: float, send_delta: float, groups: int, now: float) -> BandwidthUsage:
        """Judge one modified trend (ms); ``send_delta`` is the group's send spacing (s),
        ``now`` its arrival time (s, any clock that only moves forward)."""
        if groups < 2:
            return self.state
        if trend > self.threshold:
            if self._over_time is None:
                self._over_time = send_delta / 2  # §5.4: assume half the spacing was over-use
            else:
                self._over_time += send_delta
            self._over_count += 1
            if self._over_time > OVERUSE_TIME and self._over_count > 1 and trend >= self._previous:
                self._over_time = None
                self._over_count = 0
                self.state = BandwidthUsage.OVERUSE
        elif trend < -self.threshold:
            self._over_time = None
            self._over_count = 0
            self.state = BandwidthUsage.UNDERUSE
        else:
            self._over_time = None
            self._over_count = 0
            self.state = BandwidthUsage.NORMAL
        self._previous = trend
        self._adapt(trend, now)
        return self.state

    def _adapt(self, trend: float, now: float) -> None:
        last = self._last_update
        self._last_update = now
        if last is None:
            return
        magnitude = abs(trend)
        if magnitude > self.threshold + _MAX_ADAPT_OFFSET:
            return
        k = _K_DOWN if magnitude < self.threshold else _K_UP
        dt_ms = min(max(now - last, 0.0), _MAX_STEP) * 1000.0
        self.threshold += k * (magnitude - self.threshold) * dt_ms
        self.threshold = min(max(self.threshold, _MIN_THRESHOLD), _MAX_THRESHOLD)
