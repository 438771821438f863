"""A closed peer connection is freed by reference counting alone, without the cyclic collector.

A server holding thousands of sessions pays, on every collection, for walking whatever cycles
its closed sessions left behind; and a setup's own garbage costs it a collection. So once both
ends have closed and the caller drops its references, the peer connection, its session, DTLS,
SCTP, channels and transceivers (and a video transceiver's link, its workers and tasks) must be
dead with the collector disabled.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Literal

import pytest

from pywebrtc import RTCPeerConnection, RTCRtpReceiver, SettingEngine
from pywebrtc.mediastreams import AudioStreamTrack
from tests.peerconnection.helpers import Inbox, channel_event, incoming, negotiate
from tests.peerconnection.video_helpers import PatternTrack, pattern_frames

Media = Literal["data", "audio", "video"]


def _parts(pc: RTCPeerConnection) -> Iterator[object]:
    """The peer connection and what it is made of (internals, on purpose: these are the
    objects the cycles ran through)."""
    yield pc
    session = pc._session
    assert session is not None
    yield session
    yield pc._driver
    yield pc._sctp
    yield pc._sctp.association
    yield pc._media
    yield pc._operations
    assert session.dtls is not None
    yield session.dtls
    yield session.agent
    for transceiver in pc.getTransceivers():
        yield transceiver
        yield transceiver.sender
        yield transceiver.receiver


def _prefer_vp8(pc: RTCPeerConnection) -> None:
    caps = RTCRtpReceiver.getCapabilities("video")
    assert caps is not None
    vp8 = [c for c in caps.codecs if c.mimeType == "video/VP8"]
    for transceiver in pc.getTransceivers():
        transceiver.setCodecPreferences(vp8)


async def _session(
    media: Media, dtls: Literal["1.2"] | None
) -> tuple[list[weakref.ref[object]], set[tuple[type, int]]]:
    """Two peers, a channel (and an audio track, or a VP8 track each way with a few frames
    decoded on each side), a message each way, both closed; weak references to what should
    now be freed, and (type, id) of the parts that take none."""
    settings = [SettingEngine(), SettingEngine()]
    if dtls is not None:
        for setting in settings:
            setting.set_dtls_versions(dtls)
    a, b = RTCPeerConnection(settings=settings[0]), RTCPeerConnection(settings=settings[1])
    theirs = asyncio.ensure_future(incoming(b))
    ours = a.createDataChannel("chat")
    if media == "audio":
        a.addTrack(AudioStreamTrack())
    elif media == "video":
        a.addTrack(PatternTrack(160, 120, cycle=2))
        b.addTrack(PatternTrack(160, 120, cycle=2))
        _prefer_vp8(a)
    await negotiate(a, b)
    remote = await theirs
    await channel_event(ours, "open", "open")
    inbox_b, inbox_a = Inbox(remote), Inbox(ours)
    for channel in (ours, remote):
        # Handlers that hold their channel, as an app's do (an echo replies on it): a cycle
        # unless the closed channel lets go of its handlers.
        channel.on("close", lambda channel=channel: channel.readyState)
    ours.send("ping")
    await inbox_b.wait(1)
    remote.send("pong")
    await inbox_a.wait(1)
    assert a._session is not None and a._session.dtls is not None
    links: list[weakref.ref[object]] = []
    if media == "video":
        for pc in (a, b):
            (transceiver,) = pc.getTransceivers()
            await pattern_frames(transceiver.receiver.track, 3)
            assert transceiver.video is not None  # (the media plane drops it on close)
            links.append(weakref.ref(transceiver.video))
    await a.close()
    await b.close()
    for _ in range(3):  # cancelled tasks (an audio sender's) end on the next iterations
        await asyncio.sleep(0)
    refs: list[weakref.ref[object]] = [weakref.ref(ours), weakref.ref(remote), *links]
    untracked: set[tuple[type, int]] = set()
    for pc in (a, b):
        for part in _parts(pc):
            try:
                refs.append(weakref.ref(part))
            except TypeError:  # slotted without __weakref__, or compiled (pywebrtc/_mypyc.py)
                untracked.add((type(part), id(part)))
    return refs, untracked


@pytest.mark.parametrize("media", ["data", "audio", "video"])
@pytest.mark.parametrize("dtls", [None, "1.2"], ids=["dtls13", "dtls12"])
def test_a_closed_peer_connection_is_freed_without_the_cyclic_collector(
    media: Media, dtls: Literal["1.2"] | None
) -> None:
    gc.collect()
    gc.disable()
    try:

        async def body() -> None:
            refs, untracked = await _session(media, dtls)
            assert len(refs) + len(untracked) >= 12
            alive = sorted(type(r()).__name__ for r in refs if r() is not None)
            # The parts without weak references: alive if the collector still tracks them.
            alive += [type(o).__name__ for o in gc.get_objects() if (type(o), id(o)) in untracked]
            assert alive == []
            # Nothing of ours is left for the collector either (it saves what it finds).
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                gc.collect()
                ours = [
                    type(o).__qualname__
                    for o in gc.garbage
                    if type(o).__module__.startswith("pywebrtc")
                ]
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
            assert ours == []

        asyncio.run(asyncio.wait_for(body(), 30))
    finally:
        gc.enable()
