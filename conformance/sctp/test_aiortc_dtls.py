"""Data channels over real DTLS: our ``DtlsSession`` + ``DataChannelManager`` against aiortc's
``RTCDtlsTransport`` + ``RTCSctpTransport`` + ``RTCDataChannel`` (only ICE is in memory).

This is the wiring the peer connection will use: DTLS application data in, SCTP packets out
as DTLS records.
"""

from __future__ import annotations

import asyncio

import pytest
from aiortc.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from aiortc.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport

from conformance.dtls.test_aiortc import dtls_pair
from conformance.sctp.test_aiortc import OurDriver, messages
from pywebrtc.sctp import DataChannelManager, IncomingChannel, SctpAssociation


@pytest.mark.parametrize("our_role", ["client", "server"])
def test_data_channels_over_dtls_with_aiortc(our_role: str) -> None:
    async def run() -> None:
        dtls, session, params = dtls_pair(our_role)
        dtls_start = asyncio.ensure_future(dtls.start(params))
        await asyncio.wait_for(session.handshake(), 10)
        await asyncio.wait_for(dtls_start, 10)

        async def send(data: bytes) -> None:
            session.send(data)

        manager = DataChannelManager(
            SctpAssociation(is_client=our_role == "client"), is_dtls_client=our_role == "client"
        )
        ours = OurDriver(manager, send)

        async def pump() -> None:
            while (data := await session.recv()) is not None:
                ours.inbox.put_nowait(data)

        pumping = asyncio.ensure_future(pump())
        sctp = RTCSctpTransport(dtls)
        manager.connect(asyncio.get_running_loop().time())
        await sctp.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)
        await ours.wait_for(lambda: manager.association.is_established)

        theirs = RTCDataChannel(sctp, RTCDataChannelParameters(label="a", ordered=False))
        echoed: list[object] = []
        theirs.on("message", echoed.append)
        await ours.wait_for(lambda: any(isinstance(e, IncomingChannel) for e in ours.events))
        incoming = next(e.channel for e in ours.events if isinstance(e, IncomingChannel))
        incoming.on("message", incoming.send)
        theirs.send("over dtls")
        theirs.send(bytes(100_000))

        mine = manager.create_channel("b", max_retransmits=0)
        opened: list[RTCDataChannel] = []

        @sctp.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            opened.append(channel)
            channel.on("message", channel.send)

        ours.flush()
        mine.send(b"ping")
        await ours.wait_for(lambda: messages(ours, mine) == [b"ping"])
        for _ in range(400):
            if len(echoed) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(echoed) == 2 and "over dtls" in echoed and bytes(100_000) in echoed
        assert opened[0].label == "b" and opened[0].maxRetransmits == 0

        ours.close()
        pumping.cancel()
        await sctp.stop()
        await dtls.stop()
        session.close()

    asyncio.run(run())
