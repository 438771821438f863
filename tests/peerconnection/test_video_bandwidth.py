"""The bandwidth estimate drives our video encoder: two pywebrtc peer connections on loopback
(real time, real VP8 encoder and decoder), the caller's media crossing a userspace rate-limited
link (:class:`tests.impair.Impairer`: a serialising link with a bounded queue, the excess
dropped) in front of the callee. The picture is noise, so the encoder fills whatever it is
given. Asserted: behaviour (the encoder's target falls below the link rate while frames keep
arriving, then rises when the limit is lifted), never how fast."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from pywebrtc import RTCPeerConnection, SettingEngine
from pywebrtc.rtp.bwe.transport import TransportBandwidth, transport_sequence_number
from pywebrtc.stats import RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats
from pywebrtc.transmit import Address
from tests.impair import Impairer, Impairment

from .audio_helpers import ToneTrack
from .helpers import InboundLink, negotiate
from .video_helpers import NoiseTrack, PatternTrack

LINK = 250_000  # bit/s


class RateLimit:
    """SRTP/SRTCP datagrams to ``deliver`` through a rate-limited link while :attr:`on`."""

    def __init__(self, deliver: Callable[[bytes, Address, Address, float], bool]) -> None:
        self.deliver = deliver
        self.link = Impairer(Impairment(rate=LINK / 8, queue=0.25))
        self.on = False
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = None
        self.addresses: tuple[Address, Address] | None = None

    def __call__(self, data: bytes, remote: Address, local: Address, now: float) -> bool:
        """As :meth:`PeerSession.receive`: True only for a datagram delivered that moved the
        media plane alone (a queued one asks the shell for a whole flush)."""
        if not self.on or not data or not 128 <= data[0] <= 191:
            return self.deliver(data, remote, local, now)
        self.addresses = (remote, local)
        self.link.push(now, data)
        self._flush()
        return False

    def _flush(self) -> None:
        now = self.loop.time()
        assert self.addresses is not None
        for data in self.link.pop(now):
            self.deliver(data, *self.addresses, now)
        due = self.link.next_due()
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_at(due, self._flush) if due is not None else None


async def encoder_target(pc: RTCPeerConnection) -> int | None:
    """The video encoder's target bitrate (outbound-rtp ``targetBitrate``), once it runs."""
    for stats in (await pc.getStats()).of_type("outbound-rtp"):
        assert isinstance(stats, RTCOutboundRtpStreamStats)
        if stats.targetBitrate is not None:
            return int(stats.targetBitrate)
    return None


async def frames_decoded(pc: RTCPeerConnection) -> int:
    inbound = (await pc.getStats()).of_type("inbound-rtp")
    return sum(s.framesDecoded or 0 for s in inbound if isinstance(s, RTCInboundRtpStreamStats))


async def until(check: Callable[[int], bool], pc: RTCPeerConnection, limit: float) -> list[int]:
    """Targets sampled every 0.25 s until ``check(target)`` holds (fails after ``limit`` s)."""
    seen: list[int] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        target = await encoder_target(pc)
        if target is not None:
            seen.append(target)
            if check(target):
                return seen
        await asyncio.sleep(0.25)
    raise AssertionError(f"not reached in {limit} s: {seen}")


def test_a_rate_limited_link_brings_the_encoder_below_it_and_lifting_it_raises_it() -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.include_loopback = True
        a, b = RTCPeerConnection(settings=settings), RTCPeerConnection(settings=settings)
        try:
            a.addTrack(NoiseTrack())
            b._ensure_ice(controlling=False)
            inbound = InboundLink(b)
            link = inbound.receive = RateLimit(inbound.deliver)
            await negotiate(a, b)
            sdp = a.localDescription
            assert sdp is not None and "transport-cc" in sdp.sdp
            high = await until(lambda t: t > 2 * LINK, a, 30.0)  # the estimate grows
            link.on = True
            low = await until(lambda t: t < 0.9 * LINK, a, 30.0)
            # The fall loses what the link's queue cannot hold (NACK and PLI repair it, and the
            # loss may take the estimate far below the link for a while): then video flows
            # again, at 10 frames a second or more in a 3 s window, the encoder below the link.
            loop = asyncio.get_running_loop()
            end = loop.time() + 40.0
            while True:
                decoded = await frames_decoded(b)
                settled: list[int] = []
                for _ in range(12):
                    await asyncio.sleep(0.25)
                    settled.append(await encoder_target(a) or 0)
                flowing = await frames_decoded(b) - decoded
                if flowing > 30:
                    break
                assert loop.time() < end, (flowing, settled)
            # around the link rate (the estimate probes above it now and then), below on average
            assert sum(settled) / len(settled) < LINK, settled
            assert max(settled) < 1.25 * LINK, settled
            link.on = False
            up = await until(lambda t: t > 1.5 * max(settled), a, 30.0)
            print(f"targets: high {high[-1]}, low {low[-1]}, settled {settled}, up {up[-1]}; "
                  f"{flowing} frames decoded in 3 s; {link.link.dropped} datagrams dropped")
        finally:
            await a.close()
            await b.close()
            inbound.close()

    asyncio.run(asyncio.wait_for(body(), 180))


def test_audio_and_video_share_one_estimate_audio_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audio and video from one peer connection: every packet of both is reported to the one
    estimator, and the encoders' targets are the shares of its target (audio up to its 32
    kbit/s ceiling first, video the rest less headers)."""

    async def body() -> None:
        settings = SettingEngine()
        settings.include_loopback = True
        a, b = RTCPeerConnection(settings=settings), RTCPeerConnection(settings=settings)
        try:
            a.addTrack(ToneTrack(440))
            a.addTrack(PatternTrack())
            await negotiate(a, b)
            media = a._media
            loop = asyncio.get_running_loop()
            end = loop.time() + 30.0
            while True:
                await asyncio.sleep(0.25)
                bandwidth = media.bandwidth
                if bandwidth is None:  # (DTLS not done yet)
                    assert loop.time() < end
                    continue
                report = await a.getStats()
                targets = {s.kind: s.targetBitrate for s in report.of_type("outbound-rtp")
                           if isinstance(s, RTCOutboundRtpStreamStats)}  # fmt: skip
                shares = bandwidth.shares([32_000], 1)  # (no await since the stats)
                assert shares.video is not None
                # (the video encoder takes a new target with its next frame: poll till then;
                # the plane shares again when the target moves 5 %, and the header average
                # moves with every packet)
                video = max(50_000, shares.video)
                if (
                    bandwidth.estimator.counters.feedbacks > 10
                    and abs((targets.get("video") or 0) - video) < 0.06 * video
                    and targets.get("audio") == min(32_000, shares.audio)
                ):
                    break
                assert loop.time() < end, (targets, shares, bandwidth.target_bitrate)
            assert shares.video < bandwidth.target_bitrate - 32_000
            # Both kinds' packets reach the estimator.
            reported: set[int] = set()
            sent = TransportBandwidth.sent

            def spy(self: TransportBandwidth, data: bytes, ext_id: int, now: float) -> None:
                if transport_sequence_number(data, ext_id) is not None:
                    reported.add(int.from_bytes(data[8:12]))
                sent(self, data, ext_id, now)

            monkeypatch.setattr(TransportBandwidth, "sent", spy)
            await asyncio.sleep(1.0)
            ssrcs = {t.kind: t.sender.ssrc for t in a.getTransceivers()}
            assert {ssrcs["audio"], ssrcs["video"]} <= reported, (ssrcs, reported)
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(body(), 60))
