"""Our transceiver's deployment shape as the interop tests set it up: ICE-lite sessions that
all share one UDP socket (a pywebrtc.ice.UdpMux)."""

from __future__ import annotations

from pywebrtc import RTCPeerConnection, SettingEngine
from pywebrtc.ice import UdpMux
from pywebrtc.sdp import SessionDescription


def lite_settings(mux: UdpMux) -> SettingEngine:
    """The settings of one ICE-lite session on ``mux``."""
    settings = SettingEngine()
    settings.set_lite(True)
    settings.set_udp_mux(mux)
    return settings


def assert_lite_answer_on(pc: RTCPeerConnection, mux: UdpMux) -> None:
    """Our answer declares ICE-lite and its candidates are all the mux's port."""
    answer = pc.localDescription
    assert answer is not None
    parsed = SessionDescription.parse(answer.sdp)
    assert parsed.ice_lite
    assert {c.port for m in parsed.media for c in m.candidates} == {mux.local_address[1]}
