"""A closed peer connection is freed by reference counting alone, without the cyclic collector.

A server holding thousands of sessions pays, on every collection, for walking whatever cycles
its closed sessions left behind; and a setup's own garbage costs it a collection. So once both
ends have closed and the caller drops its references, the peer connection, its session, DTLS,
SCTP, channels and transceivers must be dead with the collector disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from collections.abc import Iterator
from typing import Literal

import pytest

from pywebrtc import RTCPeerConnection, SettingEngine
from pywebrtc.mediastreams import AudioStreamTrack
from tests.peerconnection.helpers import Inbox, channel_event, incoming, negotiate


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


async def _session(audio: bool, dtls: Literal["1.2"] | None) -> list[weakref.ref[object]]:
    """Two peers, a channel (and an audio track), a message each way, both closed; weak
    references to what should now be freed."""
    settings = [SettingEngine(), SettingEngine()]
    if dtls is not None:
        for setting in settings:
            setting.set_dtls_versions(dtls)
    a, b = RTCPeerConnection(settings=settings[0]), RTCPeerConnection(settings=settings[1])
    theirs = asyncio.ensure_future(incoming(b))
    ours = a.createDataChannel("chat")
    if audio:
        a.addTrack(AudioStreamTrack())
    await negotiate(a, b)
    remote = await theirs
    await channel_event(ours, "open", "open")
    inbox_b, inbox_a = Inbox(remote), Inbox(ours)
    ours.send("ping")
    await inbox_b.wait(1)
    remote.send("pong")
    await inbox_a.wait(1)
    assert a._session is not None and a._session.dtls is not None
    await a.close()
    await b.close()
    for _ in range(3):  # cancelled tasks (an audio sender's) end on the next iterations
        await asyncio.sleep(0)
    refs: list[weakref.ref[object]] = [weakref.ref(ours), weakref.ref(remote)]
    for pc in (a, b):
        for part in _parts(pc):
            # (slotted without __weakref__: the collector check below finds it)
            with contextlib.suppress(TypeError):
                refs.append(weakref.ref(part))
    return refs


@pytest.mark.parametrize("audio", [False, True], ids=["data", "audio"])
@pytest.mark.parametrize("dtls", [None, "1.2"], ids=["dtls13", "dtls12"])
def test_a_closed_peer_connection_is_freed_without_the_cyclic_collector(
    audio: bool, dtls: Literal["1.2"] | None
) -> None:
    gc.collect()
    gc.disable()
    try:

        async def body() -> None:
            refs = await _session(audio, dtls)
            assert len(refs) >= 12
            alive = sorted(type(r()).__name__ for r in refs if r() is not None)
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
