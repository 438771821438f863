"""Chromium as the receiver of our audio sends transport-cc feedback, and our send-side
bandwidth estimate (:mod:`pywebrtc.rtp.bwe`) turns the Opus bitrate down when our datagrams to
it are squeezed through 32 kbit/s: a userspace bottleneck in our socket's send path (a
serialising link with a bounded queue, the model of :class:`tests.impair.Impairer`), off while
connecting, then on."""

from __future__ import annotations

import asyncio
import functools
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.browser.audio_scenario import AudioLink, connect_audio, write_tone_wav
from conformance.browser.driver import BrowserSession, launch_chromium
from pywebrtc.ice.gather import host_addresses
from pywebrtc.ice.udpmux import UdpMux
from pywebrtc.settings import SettingEngine
from pywebrtc.stats import RTCOutboundRtpStreamStats
from pywebrtc.transmit import Address


class BottleneckSocket(asyncio.DatagramProtocol):
    """A UDP socket serving a :class:`UdpMux` whose sends, once :attr:`rate` is set, leave
    through a ``rate`` bit/s link holding at most ``queue`` seconds of backlog."""

    def __init__(self, queue: float = 0.2) -> None:
        self.mux: UdpMux | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.rate: float | None = None
        self.queue = queue
        self.dropped = 0
        self._free = 0.0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        host, port = addr[0], addr[1]
        assert isinstance(host, str) and isinstance(port, int) and self.mux is not None
        self.mux.receive(data, (host, port))

    def send(self, data: bytes, remote: Address) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.rate is None:
            transport.sendto(data, remote)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._free)
        if start - now > self.queue:
            self.dropped += 1
            return
        self._free = start + len(data) * 8 / self.rate
        loop.call_at(self._free, self._deliver, data, remote)

    def _deliver(self, data: bytes, remote: Address) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, remote)

    @classmethod
    async def open(cls) -> BottleneckSocket:
        host = host_addresses(use_ipv6=False)[0]
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        protocol.transport = transport
        sockname = transport.get_extra_info("sockname")
        protocol.mux = UdpMux((sockname[0], sockname[1]), protocol.send)
        return protocol


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSession]:
    wav: Path = write_tone_wav(tmp_path_factory.mktemp("audio") / "tone.wav", 660.0)
    flag = f"--use-file-for-fake-audio-capture={wav}"
    yield from BrowserSession.open(functools.partial(launch_chromium, extra_args=(flag,)))


async def opus_bitrate(link: AudioLink) -> float:
    report = await link.pc.getStats()
    (outbound,) = report.of_type("outbound-rtp")
    assert isinstance(outbound, RTCOutboundRtpStreamStats) and outbound.targetBitrate is not None
    return outbound.targetBitrate


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "browser-offers"])
def test_chrome_feedback_turns_our_opus_down_on_a_32_kbps_link(
    chromium: BrowserSession, we_offer: bool
) -> None:
    async def body() -> None:
        socket = await BottleneckSocket.open()
        assert socket.mux is not None
        settings = SettingEngine()
        settings.set_udp_mux(socket.mux)
        link = await connect_audio(chromium.page, we_offer, settings=settings)
        try:
            await chromium.page.call("waitRemoteTrack", link.browser_pc)
            media = link.pc._media
            loop = asyncio.get_running_loop()
            start = loop.time()
            while media.bandwidth is None or media.bandwidth.estimator.counters.feedbacks < 10:
                assert loop.time() - start < 10.0, "no transport-cc feedback from Chromium"
                await asyncio.sleep(0.1)
            assert await opus_bitrate(link) == 32_000  # the configured ceiling
            socket.rate = 32_000
            rates: list[float] = []
            targets: list[int] = []
            for _ in range(24):
                await asyncio.sleep(0.25)
                rates.append(await opus_bitrate(link))
                assert media.target_bitrate is not None
                targets.append(media.target_bitrate)
            assert rates[4] < 16_000, rates  # within a second or so
            assert statistics.mean(rates[8:]) < 16_000, rates
            assert statistics.mean(targets[8:]) < 48_000, targets
            # Chromium keeps receiving us through it.
            before = (await chromium.page.call("audioStats", link.browser_pc))["inbound"]
            await asyncio.sleep(1.0)
            after = (await chromium.page.call("audioStats", link.browser_pc))["inbound"]
            assert after["packetsReceived"] - before["packetsReceived"] > 30
        finally:
            await link.close()
            if socket.transport is not None:
                socket.transport.close()

    chromium.run(body())
