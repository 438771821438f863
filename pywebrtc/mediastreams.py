"""aiortc's ``aiortc.mediastreams`` under our name: the track classes and their constants.

An app ports by turning ``from aiortc.mediastreams import …`` into
``from pywebrtc.mediastreams import …``. The classes live in :mod:`pywebrtc.media.track`;
:class:`MediaStreamError` is :class:`pywebrtc.exceptions.MediaStreamError`.

Video: :class:`VideoStreamTrack` paces and stamps frames as aiortc's does; ``addTrack`` sends
it (VP8, VP9 or H.264, see :mod:`pywebrtc.videoplane`).
"""

from __future__ import annotations

from pywebrtc.exceptions import MediaStreamError
from pywebrtc.media.track import (
    AUDIO_PTIME,
    VIDEO_CLOCK_RATE,
    VIDEO_PTIME,
    VIDEO_TIME_BASE,
    AudioStreamTrack,
    MediaStreamTrack,
    VideoStreamTrack,
)

__all__ = [
    "AUDIO_PTIME",
    "VIDEO_CLOCK_RATE",
    "VIDEO_PTIME",
    "VIDEO_TIME_BASE",
    "AudioStreamTrack",
    "MediaStreamError",
    "MediaStreamTrack",
    "VideoStreamTrack",
]
