"""Hostile input never escapes an AudioSession or a PassThroughSession: it is counted."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.media import AudioSession
from pywebrtc.rtp import RtpPacket

from .peers import config, srtp_pair

PLAIN = AudioSession(config(1))
KEYED = AudioSession(config(2), srtp=srtp_pair()[1])


@given(st.binary(max_size=300), st.booleans())
def test_garbage_datagrams_are_dropped(data: bytes, rtcp: bool) -> None:
    for session in (PLAIN, KEYED):
        if rtcp and len(data) >= 2:
            data = data[:1] + bytes([200]) + data[2:]  # an RTCP packet type (RFC 5761 §4)
        session.receive(data, 1.0)
        session.tick(1.5)
        while session.poll() is not None:
            pass


@given(
    st.integers(0, 127), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=200), st.floats(0, 100),
)  # fmt: skip
def test_any_well_formed_plain_packet_is_handled(
    pt: int, seq: int, ts: int, payload: bytes, now: float
) -> None:
    session = AudioSession(config(3), rng=random.Random(0))
    session.receive(bytes(RtpPacket(pt, seq, ts, 9, payload)), now)
    session.receive(bytes(RtpPacket(111, (seq + 1) & 0xFFFF, ts, 9, payload)), now + 0.02)
    session.tick(now + 0.5)
    while session.poll() is not None:
        pass
    source = session.reporter.sources.get(9)
    accounted = source.packets_received if source is not None else 0
    assert session.drops.unknown_payload_type + accounted == 2
