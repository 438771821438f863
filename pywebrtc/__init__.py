"""pywebrtc: a from-scratch, sans-IO WebRTC stack.

Each protocol lives in its own subpackage (``pywebrtc.stun``, ``pywebrtc.rtp``,
``pywebrtc.sdp`` …) and can be used alone. Protocol code never touches sockets or clocks;
the asyncio layer drives it.
"""

__version__ = "0.1.0"

from pywebrtc.configuration import RTCConfiguration as RTCConfiguration
from pywebrtc.configuration import RTCIceServer as RTCIceServer
from pywebrtc.negotiation import InvalidDescriptionError as InvalidDescriptionError
from pywebrtc.peerconnection import InvalidAccessError as InvalidAccessError
from pywebrtc.peerconnection import InvalidStateError as InvalidStateError
from pywebrtc.peerconnection import RTCPeerConnection as RTCPeerConnection
from pywebrtc.rtcdatachannel import RTCDataChannel as RTCDataChannel
from pywebrtc.rtcicecandidate import RTCIceCandidate as RTCIceCandidate
from pywebrtc.rtcicecandidate import candidate_from_sdp as candidate_from_sdp
from pywebrtc.rtcicecandidate import candidate_to_sdp as candidate_to_sdp
from pywebrtc.rtcsessiondescription import RTCSessionDescription as RTCSessionDescription
from pywebrtc.settings import SettingEngine as SettingEngine
from pywebrtc.stats import RTCStatsReport as RTCStatsReport
