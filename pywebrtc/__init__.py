"""pywebrtc: a from-scratch, sans-IO WebRTC stack.

Each protocol lives in its own subpackage (``pywebrtc.stun``, ``pywebrtc.rtp``,
``pywebrtc.sdp`` …) and can be used alone. Protocol code never touches sockets or clocks;
the asyncio layer drives it.

The W3C-shaped names below (``RTCPeerConnection`` …) are imported on first use, so that
``import pywebrtc.stun`` — what the relay does — does not load DTLS, SCTP and the peer
connection.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pywebrtc import _mypyc

_mypyc.install()  # before any compiled module is imported (PYWEBRTC_PURE=1, a stale build)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "InternalError": "pywebrtc.exceptions",
    "InvalidAccessError": "pywebrtc.exceptions",
    "InvalidCharacterError": "pywebrtc.exceptions",
    "InvalidDescriptionError": "pywebrtc.exceptions",
    "InvalidModificationError": "pywebrtc.exceptions",
    "InvalidStateError": "pywebrtc.exceptions",
    "MediaStreamError": "pywebrtc.exceptions",
    "OperationError": "pywebrtc.exceptions",
    "RTCBundlePolicy": "pywebrtc.configuration",
    "RTCConfiguration": "pywebrtc.configuration",
    "RTCIceTransportPolicy": "pywebrtc.configuration",
    "RTCIceServer": "pywebrtc.configuration",
    "RTCPeerConnection": "pywebrtc.peerconnection",
    "RTCDataChannel": "pywebrtc.rtcdatachannel",
    "RTCIceCandidate": "pywebrtc.rtcicecandidate",
    "candidate_from_sdp": "pywebrtc.rtcicecandidate",
    "candidate_to_sdp": "pywebrtc.rtcicecandidate",
    "RTCSessionDescription": "pywebrtc.rtcsessiondescription",
    "SettingEngine": "pywebrtc.settings",
    "RTCStatsReport": "pywebrtc.stats",
    "MediaStreamTrack": "pywebrtc.media",
    "AudioStreamTrack": "pywebrtc.media",
    "VideoStreamTrack": "pywebrtc.media",
    "RTCRtpTransceiver": "pywebrtc.rtcrtptransceiver",
    "RTCRtpSender": "pywebrtc.rtcrtptransceiver",
    "RTCRtpReceiver": "pywebrtc.rtcrtptransceiver",
    "RTCRtpCodecCapability": "pywebrtc.rtcrtptransceiver",
    "RTCDTMFSender": "pywebrtc.rtcrtptransceiver",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pywebrtc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from pywebrtc.configuration import RTCBundlePolicy as RTCBundlePolicy
    from pywebrtc.configuration import RTCConfiguration as RTCConfiguration
    from pywebrtc.configuration import RTCIceServer as RTCIceServer
    from pywebrtc.configuration import RTCIceTransportPolicy as RTCIceTransportPolicy
    from pywebrtc.exceptions import InternalError as InternalError
    from pywebrtc.exceptions import InvalidAccessError as InvalidAccessError
    from pywebrtc.exceptions import InvalidCharacterError as InvalidCharacterError
    from pywebrtc.exceptions import InvalidDescriptionError as InvalidDescriptionError
    from pywebrtc.exceptions import InvalidModificationError as InvalidModificationError
    from pywebrtc.exceptions import InvalidStateError as InvalidStateError
    from pywebrtc.exceptions import MediaStreamError as MediaStreamError
    from pywebrtc.exceptions import OperationError as OperationError
    from pywebrtc.media import AudioStreamTrack as AudioStreamTrack
    from pywebrtc.media import MediaStreamTrack as MediaStreamTrack
    from pywebrtc.media import VideoStreamTrack as VideoStreamTrack
    from pywebrtc.peerconnection import RTCPeerConnection as RTCPeerConnection
    from pywebrtc.rtcdatachannel import RTCDataChannel as RTCDataChannel
    from pywebrtc.rtcicecandidate import RTCIceCandidate as RTCIceCandidate
    from pywebrtc.rtcicecandidate import candidate_from_sdp as candidate_from_sdp
    from pywebrtc.rtcicecandidate import candidate_to_sdp as candidate_to_sdp
    from pywebrtc.rtcrtptransceiver import RTCDTMFSender as RTCDTMFSender
    from pywebrtc.rtcrtptransceiver import RTCRtpCodecCapability as RTCRtpCodecCapability
    from pywebrtc.rtcrtptransceiver import RTCRtpReceiver as RTCRtpReceiver
    from pywebrtc.rtcrtptransceiver import RTCRtpSender as RTCRtpSender
    from pywebrtc.rtcrtptransceiver import RTCRtpTransceiver as RTCRtpTransceiver
    from pywebrtc.rtcsessiondescription import RTCSessionDescription as RTCSessionDescription
    from pywebrtc.settings import SettingEngine as SettingEngine
    from pywebrtc.stats import RTCStatsReport as RTCStatsReport
