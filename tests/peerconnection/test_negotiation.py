"""Offer/answer shapes: our answers to real browser/aiortc/libwebrtc offers (fixtures), our
offers, and bad remote descriptions (a clear ValueError, connection still usable)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywebrtc import (
    InvalidDescriptionError,
    InvalidStateError,
    RTCPeerConnection,
    RTCSessionDescription,
    SettingEngine,
)
from pywebrtc.jsep.negotiation import parse_remote
from pywebrtc.peerconnection import PACK_DELAY, _PackedDescription, _Packer
from pywebrtc.sdp import Direction, SessionDescription, Setup
from tests.peerconnection.helpers import Inbox, channel_event, incoming, negotiate, reach

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sdp"
OFFERS = sorted(p.name for p in FIXTURES.glob("*offer*.sdp"))


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


async def answer_to(offer_sdp: str, settings: SettingEngine | None = None) -> SessionDescription:
    pc = RTCPeerConnection(settings=settings)
    await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
    assert pc.signalingState == "have-remote-offer"
    answer = await pc.createAnswer()
    await pc.close()
    return SessionDescription.parse(answer.sdp)


@pytest.mark.parametrize("name", OFFERS)
def test_answer_mirrors_every_offered_section(name: str) -> None:
    async def body() -> None:
        offer = SessionDescription.parse((FIXTURES / name).read_text())
        answer = await answer_to(str(offer))
        assert [m.mid for m in answer.media] == [m.mid for m in offer.media]
        assert [m.media for m in answer.media] == [m.media for m in offer.media]
        # The data section, audio and video sections are accepted (no transceiver was
        # added: media is answered recvonly).
        accepted = [m for m in answer.media if m.port != 0]
        assert all(m.media in ("application", "audio", "video") for m in accepted)
        audio = [m for m in accepted if m.media in ("audio", "video")]
        assert all(m.direction in (Direction.RECVONLY, Direction.INACTIVE) for m in audio)
        has_data = any(m.media == "application" for m in offer.media)
        assert len(accepted) - len(audio) == (1 if has_data else 0)
        group = answer.group("BUNDLE")
        if has_data:
            data = next(m for m in accepted if m.media == "application")
            assert group is not None and group.mids == tuple(m.mid for m in accepted)
            assert data.proto == "UDP/DTLS/SCTP" and data.formats == ["webrtc-datachannel"]
            assert data.setup is Setup.ACTIVE
            assert data.ice_ufrag and data.ice_pwd and len(data.fingerprints) == 1
            assert data.sctp_port == 5000 and data.max_message_size == 262144
        elif not audio:
            assert group is None

    run(body)


def test_a_remote_description_the_caller_parsed_is_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server vets an offer with its own parse and hands that parse over
    (``RTCSessionDescription.parsed``): setRemoteDescription reads it and parses nothing."""
    text = (FIXTURES / "chrome-offer-data.sdp").read_text()
    parsed = SessionDescription.parse(text)
    calls: list[str] = []
    original = SessionDescription.parse.__func__  # type: ignore[attr-defined]

    def counting(cls: type[SessionDescription], sdp: str) -> SessionDescription:
        calls.append(sdp)
        result: SessionDescription = original(cls, sdp)
        return result

    monkeypatch.setattr(SessionDescription, "parse", classmethod(counting))

    async def body() -> None:
        pc = RTCPeerConnection()
        await pc.setRemoteDescription(RTCSessionDescription(text, "offer", parsed=parsed))
        assert calls == [] and pc.signalingState == "have-remote-offer"
        assert pc.remoteDescription is not None and pc.remoteDescription.sdp == text
        assert pc.remoteDescription.parsed is None  # the parse is not kept
        await pc.close()

    run(body)


def test_answering_dtls_role_server_says_passive() -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.set_answering_dtls_role("server")
        answer = await answer_to((FIXTURES / "chrome-offer-data.sdp").read_text(), settings)
        assert answer.media[0].setup is Setup.PASSIVE

    run(body)


def test_answer_takes_the_opposite_of_an_active_or_passive_offer() -> None:
    async def body() -> None:
        text = (FIXTURES / "chrome-offer-data.sdp").read_text()
        answer = await answer_to(text.replace("a=setup:actpass", "a=setup:active"))
        assert answer.media[0].setup is Setup.PASSIVE
        answer = await answer_to(text.replace("a=setup:actpass", "a=setup:passive"))
        assert answer.media[0].setup is Setup.ACTIVE

    run(body)


def test_offer_shape() -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.set_ice_credentials("routeUFRAG1", "p" * 24)
        pc = RTCPeerConnection(settings=settings)
        empty = SessionDescription.parse((await pc.createOffer()).sdp)
        assert empty.media == []  # W3C: no data section before a channel exists
        pc.createDataChannel("x")
        offer = await pc.createOffer()
        assert pc.localDescription is None
        parsed = SessionDescription.parse(offer.sdp)
        (data,) = parsed.media
        assert data.media == "application" and data.mid == "0"
        assert data.setup is Setup.ACTPASS
        assert data.ice_ufrag == "routeUFRAG1" and data.ice_pwd == "p" * 24
        assert data.candidates == []  # nothing gathered before setLocalDescription
        group = parsed.group("BUNDLE")
        assert group is not None and group.mids == ("0",)
        await pc.setLocalDescription(offer)
        local = pc.localDescription
        assert local is not None and pc.iceGatheringState == "complete"
        gathered = SessionDescription.parse(local.sdp).media[0]
        assert gathered.candidates and gathered.end_of_candidates
        await pc.close()

    run(body)


def test_a_connected_session_reads_its_descriptions_back_unchanged() -> None:
    # Once connected with signalling stable the rendered SDP is not kept and the remote one is
    # kept compressed (memory per idle session): later reads give the same descriptions.
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        a.createDataChannel("x")
        await negotiate(a, b)
        before, offer = b.localDescription, b.remoteDescription
        assert before is not None and offer is not None
        await reach(a, "connectionState", "connected")
        await reach(b, "connectionState", "connected")
        assert b._rendered is None
        after = b.localDescription
        assert after is not None and after.sdp == before.sdp and after.type == "answer"
        # The remote description, kept compressed meanwhile, reads back as it was set.
        for read in (b.remoteDescription, b.currentRemoteDescription):
            assert read is not None and (read.sdp, read.type) == (offer.sdp, "offer")
        assert b.pendingRemoteDescription is None
        await a.close()
        await b.close()

    run(body)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.sdp")))
def test_a_packed_remote_description_is_smaller_and_unpacks_to_the_same_text(name: str) -> None:
    text = (FIXTURES / name).read_text()
    packed = _PackedDescription(RTCSessionDescription(text, "offer"))
    assert len(packed.data) < len(text) // 2
    assert packed.unpack() == RTCSessionDescription(text, "offer")


def test_the_remote_description_is_packed_a_while_after_connecting_not_on_the_way() -> None:
    async def body() -> None:
        loop = asyncio.get_running_loop()
        a, b = RTCPeerConnection(), RTCPeerConnection()
        a.createDataChannel("x")
        await negotiate(a, b)
        await reach(a, "connectionState", "connected")
        await reach(b, "connectionState", "connected")
        text = a.remoteDescription
        assert type(a._remote_description) is RTCSessionDescription
        packer = _Packer._by_loop[loop]
        assert packer.when is not None and packer.when >= loop.time() + PACK_DELAY - 0.5
        await b.close()
        packer.on_timer(loop.time() + PACK_DELAY)  # what the loop's timer does then
        assert isinstance(a._remote_description, _PackedDescription)
        assert a.remoteDescription == text
        assert type(b._remote_description) is RTCSessionDescription  # closed: left alone
        assert not packer.waiting
        await a.close()

    run(body)


def test_local_description_is_rendered_once_and_follows_each_new_description() -> None:
    async def body() -> None:
        a, b = RTCPeerConnection(), RTCPeerConnection()
        a.createDataChannel("x")
        await negotiate(a, b)
        first, again = a.localDescription, a.localDescription
        assert first is not None and again is not None
        assert again.sdp is first.sdp  # the same render, not a new one per read
        answer = b.localDescription
        assert answer is not None and b.localDescription is not None
        assert b.localDescription.sdp is answer.sdp
        # Renegotiation: a new offer (new o= version) and a new answer to it.
        a.addTransceiver("audio")
        await negotiate(a, b)
        offer2, answer2 = a.localDescription, b.localDescription
        assert offer2 is not None and answer2 is not None
        assert SessionDescription.parse(offer2.sdp).origin.session_version > (
            SessionDescription.parse(first.sdp).origin.session_version
        )
        assert [m.media for m in SessionDescription.parse(offer2.sdp).media] == [
            "application",
            "audio",
        ]
        assert [m.media for m in SessionDescription.parse(answer2.sdp).media] == [
            "application",
            "audio",
        ]
        assert a.localDescription is not None and a.localDescription.sdp is offer2.sdp
        await a.close()
        await b.close()

    run(body)


def test_ufrag_generator_hook_is_used() -> None:
    async def body() -> None:
        settings = SettingEngine()
        settings.set_ufrag_generator(lambda: "Kroute0123456789abcdef")
        pc = RTCPeerConnection(settings=settings)
        pc.createDataChannel("x")
        offer = SessionDescription.parse((await pc.createOffer()).sdp)
        assert offer.media[0].ice_ufrag == "Kroute0123456789abcdef"
        await pc.close()

    run(body)


CHROME = (FIXTURES / "chrome-offer-data.sdp").read_text()
BAD_OFFERS = {
    "garbage": "this is not SDP",
    "empty": "",
    "no-fingerprint": "".join(
        line + "\n" for line in CHROME.splitlines() if not line.startswith("a=fingerprint")
    ),
    "no-ice-pwd": "".join(
        line + "\n" for line in CHROME.splitlines() if not line.startswith("a=ice-pwd")
    ),
    "bad-setup": CHROME.replace("a=setup:actpass", "a=setup:sideways"),
    "holdconn": CHROME.replace("a=setup:actpass", "a=setup:holdconn"),
    "bad-fingerprint-hash": CHROME.replace("a=fingerprint:sha-256", "a=fingerprint:md7"),
    "bad-port": CHROME.replace("m=application 52889", "m=application 99999"),
}


@pytest.mark.parametrize("case", sorted(BAD_OFFERS))
def test_bad_remote_offer_raises_and_leaves_the_connection_usable(case: str) -> None:
    async def body() -> None:
        b = RTCPeerConnection()
        with pytest.raises(InvalidDescriptionError) as info:
            await b.setRemoteDescription(RTCSessionDescription(BAD_OFFERS[case], "offer"))
        assert isinstance(info.value, ValueError) and str(info.value)
        assert b.signalingState == "stable" and b.remoteDescription is None
        # The same connection then negotiates and carries data with a good peer.
        a = RTCPeerConnection()
        pending = asyncio.ensure_future(incoming(b))
        ours = a.createDataChannel("after-bad-sdp")
        await negotiate(a, b)
        theirs = await pending
        await channel_event(ours, "open", "open")
        inbox = Inbox(theirs)
        ours.send("still works")
        assert await inbox.wait(1) == ["still works"]
        await a.close()
        await b.close()

    run(body)


def test_bad_remote_answer_keeps_the_offer_pending() -> None:
    async def body() -> None:
        a = RTCPeerConnection()
        a.createDataChannel("x")
        await a.setLocalDescription(await a.createOffer())
        b = RTCPeerConnection()
        offer = a.localDescription
        assert offer is not None
        await b.setRemoteDescription(offer)
        await b.setLocalDescription(await b.createAnswer())
        answer = b.localDescription
        assert answer is not None
        for bad in (
            answer.sdp.replace("a=setup:active", "a=setup:actpass"),
            answer.sdp.replace("a=mid:0", "a=mid:7"),
            "v=0\r\n",
        ):
            with pytest.raises(InvalidDescriptionError):
                await a.setRemoteDescription(RTCSessionDescription(bad, "answer"))
            assert a.signalingState == "have-local-offer"
        await a.setRemoteDescription(answer)
        assert a.signalingState == "stable"
        await a.close()
        await b.close()

    run(body)


def test_out_of_order_calls_raise_invalid_state() -> None:
    async def body() -> None:
        pc = RTCPeerConnection()
        with pytest.raises(InvalidStateError):
            await pc.createAnswer()
        with pytest.raises(InvalidStateError):
            await pc.setRemoteDescription(RTCSessionDescription(CHROME, "answer"))
        with pytest.raises(InvalidStateError):
            await pc.addIceCandidate(None)
        await pc.close()
        with pytest.raises(InvalidStateError):
            await pc.createOffer()
        with pytest.raises(InvalidStateError):
            pc.createDataChannel("late")

    run(body)


FIXTURE_LINES = [(FIXTURES / name).read_text().splitlines() for name in OFFERS]


@settings(max_examples=300)
@given(
    st.sampled_from(FIXTURE_LINES),
    st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from(["drop", "dup", "garble", "insert"])),
        max_size=6,
    ),
    st.text(max_size=40),
)
def test_mutated_offers_raise_only_invalid_description(
    lines: list[str], edits: list[tuple[int, str]], junk: str
) -> None:
    """Whatever is done to a real offer, reading it either works or raises the one
    documented ValueError subclass."""
    mutated = list(lines)
    for position, edit in edits:
        if not mutated:
            break
        at = position % len(mutated)
        if edit == "drop":
            del mutated[at]
        elif edit == "dup":
            mutated.insert(at, mutated[at])
        elif edit == "garble":
            mutated[at] = mutated[at][: len(mutated[at]) // 2] + junk
        else:
            mutated.insert(at, junk)
    text = "\r\n".join(mutated) + "\r\n"
    try:
        remote = parse_remote(text, "offer", None)
    except InvalidDescriptionError:
        return
    if remote.data is not None:
        assert remote.ice_ufrag and remote.ice_pwd and remote.fingerprints


def test_an_offer_without_sections_is_answered_and_a_later_one_connects() -> None:
    """An empty offer (Pion's, with nothing to negotiate yet) is answered without starting a
    transport; the renegotiation that adds a data channel then connects."""

    async def body() -> None:
        empty = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        s = SettingEngine()
        s.include_loopback = True
        a, b = RTCPeerConnection(settings=s), RTCPeerConnection(settings=s)
        await b.setRemoteDescription(RTCSessionDescription(empty, "offer"))
        await b.setLocalDescription(await b.createAnswer())
        assert b.signalingState == "stable" and b.connectionState == "new"
        assert b.localDescription is not None
        assert not SessionDescription.parse(b.localDescription.sdp).media
        channel = a.createDataChannel("late")
        remote_channel = asyncio.ensure_future(incoming(b))
        await negotiate(a, b)
        remote = await remote_channel
        inbox = Inbox(remote)
        await channel_event(channel, "open", "open")
        channel.send("hello")
        assert await inbox.wait(1) == ["hello"]
        await a.close()
        await b.close()

    run(body)
