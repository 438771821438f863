"""Send-side bandwidth estimation (draft-ietf-rmcat-gcc-02): see :mod:`.estimator`."""

from .estimator import (
    CHANGE_FRACTION,
    FEEDBACK_TIMEOUT,
    BandwidthEstimator,
    FeedbackCounters,
    TargetBitrateChanged,
)
from .overuse import BandwidthUsage

__all__ = [
    "CHANGE_FRACTION",
    "FEEDBACK_TIMEOUT",
    "BandwidthEstimator",
    "BandwidthUsage",
    "FeedbackCounters",
    "TargetBitrateChanged",
]
