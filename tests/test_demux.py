from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.demux import PacketKind, classify


def test_ranges_follow_rfc7983() -> None:
    assert classify(b"\x00\x01") is PacketKind.STUN
    assert classify(b"\x03") is PacketKind.STUN
    assert classify(b"\x10") is PacketKind.ZRTP
    assert classify(b"\x16\xfe\xfd") is PacketKind.DTLS
    assert classify(b"\x3f") is PacketKind.DTLS
    assert classify(b"\x40\x00") is PacketKind.TURN_CHANNEL
    assert classify(b"\x4f") is PacketKind.TURN_CHANNEL
    assert classify(b"\x80\x6f") is PacketKind.RTP  # PT 111
    assert classify(b"\x80\xef") is PacketKind.RTP  # PT 111 with marker
    assert classify(b"\x80\xc8") is PacketKind.RTCP  # SR
    assert classify(b"\x81\xcd") is PacketKind.RTCP  # generic NACK
    assert classify(b"\x04") is PacketKind.UNKNOWN
    assert classify(b"\xff") is PacketKind.UNKNOWN
    assert classify(b"\x80") is PacketKind.UNKNOWN
    assert classify(b"") is PacketKind.UNKNOWN


@given(st.binary(max_size=64))
def test_any_input_is_classified(data: bytes) -> None:
    assert isinstance(classify(data), PacketKind)
