"""The send-side bandwidth estimate drives our Opus bitrate: two pywebrtc peer connections on
the simulated network (:mod:`tests.simnet`, virtual time), transport-cc negotiated, the caller's
audio then squeezed through a 32 kbit/s bottleneck (a serialising link with a bounded queue, as
:class:`tests.impair.Impairer` models it)."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Iterable
from dataclasses import replace
from random import Random

import av

from pywebrtc import RTCConfiguration, RTCPeerConnection
from pywebrtc.ice.udpmux import UdpMux
from pywebrtc.media.frames import pcm_frame
from pywebrtc.settings import SettingEngine
from pywebrtc.stats import (
    RTCIceCandidatePairStats,
    RTCOutboundRtpStreamStats,
    RTCTransportStats,
)
from tests.peerconnection.audio_helpers import ToneTrack
from tests.peerconnection.helpers import negotiate
from tests.simnet import Datagram, Network, VirtualTimeLoop

CALLER = ("198.51.100.1", 5000)
CALLEE = ("198.51.100.2", 5000)


class Bottleneck:
    """A link of ``rate`` bit/s holding at most ``queue`` seconds of backlog (the excess
    dropped); off until :attr:`on` is set."""

    def __init__(self, rate: float, queue: float = 0.2) -> None:
        self.rate = rate
        self.queue = queue
        self.on = False
        self._free = 0.0

    def __call__(self, d: Datagram, rng: Random) -> Iterable[Datagram]:
        if not self.on:
            return (d,)
        start = max(d.at, self._free)
        if start - d.at > self.queue:
            return ()
        self._free = start + len(d.data) * 8 / self.rate
        return (replace(d, at=self._free),)


class CheapTone(ToneTrack):
    """ToneTrack at 400 Hz, whose 20 ms frames are all the same 8 periods: computed once."""

    def __init__(self) -> None:
        super().__init__(400.0)
        self._pcm: bytes | None = None

    async def recv(self) -> av.AudioFrame:
        pts, _ = await self.next_timestamp()
        if self._pcm is None:
            frame = await super().recv()
            self._pcm = bytes(frame.planes[0])[: 2 * frame.samples]
        self.frames_sent += 1
        return pcm_frame(self._pcm, self.sample_rate, 1, pts)


def peer(net: Network, address: tuple[str, int], *impairments: Bottleneck) -> RTCPeerConnection:
    mux: UdpMux | None = None

    def receive(data: bytes, source: tuple[str, int]) -> None:
        assert mux is not None
        mux.receive(data, source)

    mux = UdpMux(address, net.socket(address, receive, impairments))
    settings = SettingEngine()
    settings.set_udp_mux(mux)
    return RTCPeerConnection(RTCConfiguration(iceServers=[]), settings)


async def opus_bitrate(pc: RTCPeerConnection) -> float | None:
    report = await pc.getStats()
    return next(
        (s.targetBitrate for s in report.values() if isinstance(s, RTCOutboundRtpStreamStats)),
        None,
    )


async def available_bitrate(pc: RTCPeerConnection) -> float | None:
    """``availableOutgoingBitrate`` of the selected candidate pair."""
    report = await pc.getStats()
    (transport,) = report.of_type("transport")
    assert isinstance(transport, RTCTransportStats)
    pair = report[transport.selectedCandidatePairId or ""]
    assert isinstance(pair, RTCIceCandidatePairStats)
    return pair.availableOutgoingBitrate


def run(body: Callable[[Network], object], delay: float = 0.02) -> None:
    net = Network(delay=delay, seed=3)
    loop = VirtualTimeLoop(net)
    try:
        loop.run_until_complete(body(net))  # type: ignore[arg-type]
    finally:
        loop.close()


def test_a_32_kbps_bottleneck_makes_our_opus_bitrate_fall_and_lifting_it_recovers() -> None:
    async def body(net: Network) -> None:
        link = Bottleneck(32_000)
        caller, callee = peer(net, CALLER, link), peer(net, CALLEE)
        try:
            caller.addTrack(CheapTone())
            callee.addTransceiver("audio", direction="recvonly")
            await negotiate(caller, callee)
            sdp = caller.localDescription
            assert sdp is not None and "transport-cc" in sdp.sdp
            await asyncio.sleep(3.0)
            media = caller._media
            assert media.target_bitrate is not None  # feedback arrives: the estimator runs
            assert await opus_bitrate(caller) == 32_000  # the configured ceiling
            assert await available_bitrate(caller) == media.target_bitrate
            link.on = True
            targets: list[int] = []
            opus: list[float] = []
            for _ in range(24):
                await asyncio.sleep(0.25)
                target, rate = media.target_bitrate, await opus_bitrate(caller)
                assert target is not None and rate is not None
                targets.append(target)
                opus.append(rate)
            # Opus at 6 kbit/s still needs ~35 kbit/s on the wire (50 packets/s of headers):
            # the estimate saws around the link rate, Opus near its floor.
            assert opus[3] < 16_000, opus  # within a second
            assert statistics.mean(opus[4:]) < 12_000, opus
            assert statistics.median(opus[4:]) < 10_000, opus
            assert max(opus[4:]) < 32_000, opus  # never back at the ceiling
            assert statistics.mean(targets[4:]) < 45_000, targets
            link.on = False
            await asyncio.sleep(6.0)
            assert await opus_bitrate(caller) == 32_000
        finally:
            await caller.close()
            await callee.close()

    run(body)
