"""pywebrtc: a from-scratch, sans-IO WebRTC stack.

Each protocol lives in its own subpackage (``pywebrtc.stun``, ``pywebrtc.rtp``,
``pywebrtc.sdp`` …) and can be used alone. Protocol code never touches sockets or clocks;
the asyncio layer drives it.
"""

__version__ = "0.1.0"

from pywebrtc.settings import SettingEngine as SettingEngine
