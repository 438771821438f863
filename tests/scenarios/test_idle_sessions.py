"""Many idle connected sessions on one event loop share its timer: on the simulated network's
fake clock, a server's full-ICE sessions on one UDP mux (and their callers, on the same loop)
keep consent both ways (RFC 7675: a check every 4-6 s each way) while the loop's one timer
wakes a few times a second, not once per check (``python -m bench idle`` measures the same
over real sockets)."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from unittest import mock

from pywebrtc import RTCConfiguration, RTCPeerConnection
from pywebrtc.dtls import Certificate
from pywebrtc.ice import agent as ice_agent
from pywebrtc.ice.udpmux import UdpMux
from pywebrtc.settings import SettingEngine
from pywebrtc.stun import Message, MessageClass
from pywebrtc.timer import LoopTimer
from tests.peerconnection.helpers import negotiate
from tests.simnet import Network, VirtualTimeLoop

SERVER = ("198.51.100.2", 3478)
PAIRS = 100
IDLE = 60.0


def _mux(net: Network, address: tuple[str, int]) -> UdpMux:
    mux: UdpMux | None = None

    def receive(data: bytes, source: tuple[str, int]) -> None:
        assert mux is not None
        mux.receive(data, source)

    mux = UdpMux(address, net.socket(address, receive))
    return mux


def test_idle_sessions_share_timer_wakeups_and_keep_consent_on_time() -> None:
    net = Network(delay=0.001, seed=3)
    loop = VirtualTimeLoop(net)
    certificate = RTCConfiguration(certificates=[Certificate.generate()])
    server_settings = SettingEngine()
    server_settings.set_udp_mux(_mux(net, SERVER))

    async def main() -> tuple[float, float, dict[tuple[str, int], list[float]]]:
        pcs: list[RTCPeerConnection] = []
        channels = []
        for i in range(PAIRS):
            caller_settings = SettingEngine()
            caller_settings.set_udp_mux(_mux(net, (f"203.0.113.{i + 1}", 5000)))
            caller = RTCPeerConnection(certificate, caller_settings)
            server = RTCPeerConnection(certificate, server_settings)  # full ICE, controlled
            pcs += [caller, server]
            channels.append(caller.createDataChannel("idle"))
            await negotiate(caller, server)
        while any(channel.readyState != "open" for channel in channels):
            await asyncio.sleep(0.1)
        await asyncio.sleep(10.0)  # every session past its first consent check
        timer = LoopTimer.for_loop(loop)
        start, wakeups, calls = loop.time(), timer.wakeups, timer.calls
        await asyncio.sleep(IDLE)
        assert all(pc.connectionState == "connected" for pc in pcs)
        checks: dict[tuple[str, int], list[float]] = defaultdict(list)  # server -> caller
        for d in net.sent:
            if d.source == SERVER and d.at >= start and d.data[0] < 2:
                message = Message.parse(d.data)
                if message.message_class is MessageClass.REQUEST:
                    checks[d.destination].append(d.at)
        for pc in pcs:
            await pc.close()
        return (timer.wakeups - wakeups) / IDLE, (timer.calls - calls) / IDLE, checks

    try:
        with mock.patch.object(ice_agent, "_JITTER", random.Random(3)):
            wakeups, calls, checks = loop.run_until_complete(main())
    finally:
        loop.close()
    # Each session sent its consent checks on time: 4-6 s apart (RFC 7675 §5.1), a quarter
    # second later at most (the timer's grid for them).
    assert len(checks) == PAIRS
    gaps = [b - a for times in checks.values() for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) >= PAIRS * 9
    assert min(gaps) >= 4.0 and max(gaps) <= 6.0 + 0.25 + 0.01
    # 2 x PAIRS sessions called back about every 5 s (their consent checks), ~40 a second:
    # they share the quarter seconds' wake-ups (SCTP heartbeats' too) instead of one wake-up
    # each (before: ~70 a second here; 286 at 1,000 sessions in bench idle).
    assert calls > 35
    assert wakeups <= 6.0
