"""pywebrtc/shell.py: an ICE-lite session under its SessionDriver on a UdpMux, on the simulated
network's virtual-time loop, answers consent checks at the mux (no flush, no timer re-arm per
check) and still keeps every timer: consent holds for minutes, and expires when checks stop."""

from __future__ import annotations

import asyncio

from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import host_candidate
from pywebrtc.ice.config import IceConfig
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import IceState
from pywebrtc.ice.udpmux import UdpMux
from pywebrtc.rtcdatachannel import ChannelManager
from pywebrtc.sctp import SctpAssociation, SctpConfig
from pywebrtc.session import IceStateChanged, PeerSession, SessionEvent
from pywebrtc.shell import SessionDriver
from pywebrtc.stun import Message, MessageClass
from pywebrtc.timer import LoopTimer
from pywebrtc.transmit import Address, Transmit
from tests.simnet import Network, VirtualTimeLoop
from tests.test_session import NoMedia

SERVER: Address = ("192.0.2.1", 3478)
CLIENT: Address = ("198.51.100.9", 50000)


def session(agent: Agent, loop: asyncio.AbstractEventLoop) -> PeerSession:
    channels = ChannelManager(
        SctpAssociation(SctpConfig()), is_dtls_client=False, clock=loop.time, wake=lambda: None
    )
    return PeerSession(agent, channels, NoMedia())


async def drive_client(client: PeerSession, net: Network, stop: asyncio.Event) -> None:
    """The client side's shell, cut to what ICE needs: one socket, its deadline, its sends."""
    loop = asyncio.get_running_loop()
    send = net.socket(CLIENT, lambda data, source: client.receive(data, source, CLIENT, net.now))
    while not stop.is_set():
        client.tick(loop.time())
        while (out := client.poll()) is not None:
            if isinstance(out, Transmit):
                assert out.destination is not None
                send(out.data, out.destination)
        deadline = client.deadline()
        await asyncio.sleep(min(0.05, max(0.0, (deadline or 1.0) - loop.time())))


def test_a_lite_session_answers_consent_at_the_mux_for_minutes_and_expires_without_it() -> None:
    net = Network(delay=0.005)
    loop = VirtualTimeLoop(net)
    events: list[SessionEvent] = []

    async def main() -> None:
        mux: UdpMux | None = None

        def receive(data: bytes, source: Address) -> None:
            assert mux is not None
            mux.receive(data, source)

        mux = UdpMux(SERVER, net.socket(SERVER, receive))
        server_creds, client_creds = Credentials.generate(), Credentials.generate()
        server = session(Agent(False, server_creds, lite=True), loop)
        config = IceConfig(credentials=server_creds, ice_lite=True, udp_muxes=(mux,))
        driver = SessionDriver(server, loop, config, events.append)
        await driver.gather()
        client = session(Agent(True, client_creds), loop)
        client.add_local_candidate(host_candidate(*CLIENT), loop.time())
        client.start(None, server_creds.ufrag, server_creds.pwd, True, False, loop.time())
        client.add_remote_candidate(host_candidate(*SERVER), loop.time())
        server.start(None, client_creds.ufrag, client_creds.pwd, False, False, loop.time())
        driver.flush()
        stop = asyncio.Event()
        task = asyncio.ensure_future(drive_client(client, net, stop))
        await asyncio.sleep(1.0)
        assert server.agent.nominated and client.agent.nominated
        timer = LoopTimer.for_loop(loop)
        calls = timer.calls
        await asyncio.sleep(180.0)  # six consent timeouts (RFC 7675)
        assert server.agent.state in (IceState.CONNECTED, IceState.COMPLETED)
        assert client.agent.state in (IceState.CONNECTED, IceState.COMPLETED)
        checks = client.agent.counters.checks_sent
        assert checks > 30
        assert mux.counters.answered >= checks - 3
        assert server.agent.counters.responses_sent == checks
        # One timer call per check at most (the deadline it pushed later), and nothing sent
        # but answers: no keepalive while answers go out (RFC 8445 §11).
        assert timer.calls - calls <= checks
        from_server = [Message.parse(d.data) for d in net.sent if d.source == SERVER]
        assert {m.message_class for m in from_server} == {MessageClass.SUCCESS_RESPONSE}
        # The checks stop: consent expires 30 s after the last one, though no datagram came
        # through the session to re-arm its timer since the first seconds.
        stop.set()
        await task
        await asyncio.sleep(40.0)
        assert IceStateChanged(IceState.FAILED) in events
        assert len(mux) == 0  # the driver released its session from the mux
        driver.close()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
