from __future__ import annotations

import dataclasses

from pywebrtc.rtp import Nack, RtpPacket
from pywebrtc.rtp.interceptor import Interceptor, InterceptorChain, earliest
from pywebrtc.rtp.rtcp import RtcpPacket


class Tag(Interceptor):
    def __init__(self, name: str, deadline: float | None) -> None:
        self.name = name
        self._deadline = deadline
        self.seen: list[object] = []

    def outgoing_rtp(self, packet: RtpPacket, now: float) -> RtpPacket:
        return dataclasses.replace(packet, payload=packet.payload + self.name.encode())

    def incoming_rtp(self, packet: RtpPacket, now: float) -> None:
        self.seen.append(packet)

    def incoming_rtcp(self, packet: RtcpPacket, now: float) -> None:
        self.seen.append(packet)

    def poll_rtcp(self, now: float) -> list[RtcpPacket]:
        return [Nack.from_lost(1, 2, [len(self.name)])]

    def deadline(self) -> float | None:
        return self._deadline


def test_chain_applies_in_order_and_merges_outputs() -> None:
    a, b = Tag("a", None), Tag("bb", 3.0)
    chain = InterceptorChain([a])
    chain.add(b)
    packet = chain.outgoing_rtp(RtpPacket(0, 1, 2, 3, b"x"), 0.0)
    assert packet.payload == b"xabb"
    chain.incoming_rtp(packet, 0.0)
    nack = Nack.from_lost(9, 9, [1])
    chain.incoming_rtcp(nack, 0.0)
    assert a.seen == b.seen == [packet, nack]
    lost = [p.lost for p in chain.poll_rtcp(0.0) if isinstance(p, Nack)]
    assert lost == [[1], [2]]
    assert chain.poll_rtp(0.0) == [] and chain.deadline() == 3.0
    assert earliest([None, 5.0, 2.0, None]) == 2.0 and earliest([]) is None
    base = Interceptor()
    assert base.outgoing_rtp(packet, 0) is packet and base.deadline() is None
