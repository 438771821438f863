"""``negotiationneeded`` (W3C §4.7.3): each trigger, once per stable period, never while an
exchange is under way or an operation is pending, and again on return to stable when the
exchange did not carry a change; and the operations chain (W3C §4.4.1.2) it waits for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pywebrtc import RTCPeerConnection, RTCSessionDescription

from .audio_helpers import ToneTrack
from .helpers import negotiate
from .test_audio import run, settings


class Fired:
    def __init__(self, pc: RTCPeerConnection) -> None:
        self.count = 0
        pc.on("negotiationneeded", self._fire)

    def _fire(self) -> None:
        self.count += 1

    async def after_tasks(self) -> int:
        """The count once queued tasks ran (the event is fired from a queued task)."""
        for _ in range(5):
            await asyncio.sleep(0)
        return self.count


def pair() -> tuple[RTCPeerConnection, RTCPeerConnection]:
    return RTCPeerConnection(settings=settings()), RTCPeerConnection(settings=settings())


def both(body: Callable[[RTCPeerConnection, RTCPeerConnection], Awaitable[None]]) -> None:
    async def wrapped() -> None:
        a, b = pair()
        try:
            await body(a, b)
        finally:
            await a.close()
            await b.close()

    run(wrapped)


def test_add_track_fires_once_queued_and_more_changes_before_negotiating_do_not_refire() -> None:
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        fired = Fired(a)
        a.addTrack(ToneTrack(440))
        assert fired.count == 0  # queued, not fired synchronously
        assert await fired.after_tasks() == 1
        a.addTransceiver("audio", direction="recvonly")
        a.createDataChannel("chat")
        assert await fired.after_tasks() == 1
        await negotiate(a, b)
        assert await fired.after_tasks() == 1  # everything was in the offer

    both(body)


def test_add_transceiver_and_the_first_data_channel_fire() -> None:
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        fired_a, fired_b = Fired(a), Fired(b)
        a.addTransceiver("audio")
        b.createDataChannel("first")
        assert (await fired_a.after_tasks(), await fired_b.after_tasks()) == (1, 1)
        await negotiate(b, a)  # b's offer has the data section, a answers
        await negotiate(a, b)  # a's offer adds its audio
        assert (await fired_a.after_tasks(), await fired_b.after_tasks()) == (1, 1)
        b.createDataChannel("second")  # the data section exists: nothing to negotiate
        assert await fired_b.after_tasks() == 1

    both(body)


def test_remove_track_stop_and_direction_changes_fire_after_a_completed_exchange() -> None:
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        fired = Fired(a)
        sender = a.addTrack(ToneTrack(440))
        t2 = a.addTransceiver("audio", direction="sendrecv")
        assert await fired.after_tasks() == 1
        await negotiate(a, b)
        assert await fired.after_tasks() == 1

        a.removeTrack(sender)
        assert await fired.after_tasks() == 2
        await negotiate(a, b)
        assert await fired.after_tasks() == 2

        t2.direction = "sendrecv"  # unchanged: nothing to do
        assert await fired.after_tasks() == 2
        t2.direction = "recvonly"
        assert await fired.after_tasks() == 3
        await negotiate(a, b)
        assert await fired.after_tasks() == 3

        t2.stop()
        assert await fired.after_tasks() == 4
        await negotiate(a, b)  # the section is rejected (port 0): done
        assert await fired.after_tasks() == 4

    both(body)


def test_not_fired_while_unstable_but_on_return_to_stable() -> None:
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        fired = Fired(a)
        a.addTrack(ToneTrack(440))
        assert await fired.after_tasks() == 1
        await a.setLocalDescription(await a.createOffer())
        assert a.signalingState == "have-local-offer"
        a.addTransceiver("audio", direction="recvonly")  # not in the offer
        assert await fired.after_tasks() == 1
        offer = a.localDescription
        assert offer is not None
        await b.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        await b.setLocalDescription(await b.createAnswer())
        answer = b.localDescription
        assert answer is not None
        await a.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
        assert await fired.after_tasks() == 2  # stable again and the transceiver is new
        await negotiate(a, b)
        assert await fired.after_tasks() == 2

    both(body)


def test_the_answerer_adding_a_track_during_the_offer_needs_no_new_exchange() -> None:
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        fired = Fired(b)
        a.addTrack(ToneTrack(440))
        await a.setLocalDescription(await a.createOffer())
        offer = a.localDescription
        assert offer is not None
        await b.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        b.addTrack(ToneTrack(880))  # have-remote-offer: takes the offered transceiver
        assert await fired.after_tasks() == 0
        await b.setLocalDescription(await b.createAnswer())
        assert b.getTransceivers()[0].currentDirection == "sendrecv"
        assert await fired.after_tasks() == 0  # the answer carried it

    both(body)


def test_an_answer_that_could_not_carry_a_direction_change_fires_again() -> None:
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        fired = Fired(b)
        a.addTransceiver("audio", direction="recvonly")
        await negotiate(a, b)
        (t,) = b.getTransceivers()
        assert t.currentDirection == "inactive" and await fired.after_tasks() == 0
        t.direction = "sendonly"  # b can send now, which only b's own offer can say
        assert await fired.after_tasks() == 1
        await negotiate(b, a)
        assert t.currentDirection == "sendonly" and await fired.after_tasks() == 1

    both(body)


def test_a_handler_that_negotiates_brings_each_change_to_the_other_side() -> None:
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        done = asyncio.Event()

        @a.on("negotiationneeded")
        async def on_needed() -> None:
            await negotiate(a, b)
            done.set()

        a.addTrack(ToneTrack(440))
        await asyncio.wait_for(done.wait(), 10)
        assert [t.currentDirection for t in b.getTransceivers()] == ["recvonly"]
        done.clear()
        a.addTransceiver("audio", direction="recvonly")
        await asyncio.wait_for(done.wait(), 10)
        assert [t.currentDirection for t in b.getTransceivers()] == ["recvonly", "inactive"]

    both(body)


def test_operations_run_one_at_a_time_in_call_order() -> None:
    # W3C §4.4.1.2: an answer applied right after the offer, without awaiting it, waits until
    # the offer's setLocalDescription (which gathers) has finished.
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        a.createDataChannel("chat")
        offer = await a.createOffer()
        await b.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        await b.setLocalDescription(await b.createAnswer())
        answer = b.localDescription
        assert answer is not None
        seen: list[tuple[str, str]] = []
        a.on("signalingstatechange", lambda: seen.append((a.signalingState, a.iceGatheringState)))
        local = asyncio.ensure_future(a.setLocalDescription(offer))
        remote = asyncio.ensure_future(
            a.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
        )
        await asyncio.gather(local, remote)
        assert seen == [("have-local-offer", "new"), ("stable", "complete")]

    both(body)


def test_not_fired_while_an_operation_is_pending_but_once_the_chain_is_empty() -> None:
    # The answerer is stable as soon as its setLocalDescription starts, but that operation
    # still gathers: a track added meanwhile is judged once the chain is empty.
    async def body(a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        fired_while_pending: list[bool] = []
        a.addTransceiver("audio", direction="recvonly")
        await a.setLocalDescription(await a.createOffer())
        offer = a.localDescription
        assert offer is not None
        await b.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        answer = await b.createAnswer()
        pending = asyncio.ensure_future(b.setLocalDescription(answer))
        b.on("negotiationneeded", lambda: fired_while_pending.append(not pending.done()))
        await asyncio.sleep(0)  # the operation has started: b is stable, gathering
        assert b.signalingState == "stable" and not pending.done()
        b.addTransceiver("audio", direction="sendonly")  # not in that answer
        await pending
        for _ in range(5):
            await asyncio.sleep(0)  # the event is fired from a queued task
        assert fired_while_pending == [False]  # once, after the operation

    both(body)
