"""Two audio sessions joined by a scripted network on a fake clock (no sleeps)."""

from __future__ import annotations

import heapq
import os
import random
from dataclasses import dataclass, field

import av

from pywebrtc.dtls import SrtpProfile
from pywebrtc.media import (
    AudioSession,
    AudioSessionConfig,
    FrameReceived,
    SessionEvent,
    Transmit,
)
from pywebrtc.srtp import MasterKey, SrtpSession

from .tone import sine_frame


def srtp_pair(
    profile: SrtpProfile = SrtpProfile.SRTP_AEAD_AES_128_GCM,
) -> tuple[SrtpSession, SrtpSession]:
    k1 = MasterKey(profile, os.urandom(profile.key_length), os.urandom(profile.salt_length))
    k2 = MasterKey(profile, os.urandom(profile.key_length), os.urandom(profile.salt_length))
    return SrtpSession(k1, k2), SrtpSession(k2, k1)


@dataclass
class Link:
    """One direction: delay, jitter, random loss (first transmissions and retransmissions
    alike), duplication, and reordering by jitter."""

    delay: float = 0.03
    jitter: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    sent: int = 0
    dropped: int = 0


@dataclass
class Peer:
    session: AudioSession
    events: list[SessionEvent] = field(default_factory=list)

    @property
    def frames(self) -> list[av.AudioFrame]:
        return [e.frame for e in self.events if isinstance(e, FrameReceived)]


class Network:
    def __init__(self, a: AudioSession, b: AudioSession, ab: Link, ba: Link) -> None:
        self.a, self.b = Peer(a), Peer(b)
        self.links = {id(a): (ab, self.b), id(b): (ba, self.a)}
        self.queue: list[tuple[float, int, Peer, bytes]] = []
        self.now = 0.0
        self._n = 0

    def _drain(self, peer: Peer) -> None:
        link, dest = self.links[id(peer.session)]
        while (t := peer.session.poll()) is not None:
            if not isinstance(t, Transmit):
                peer.events.append(t)
                continue
            link.sent += 1
            if link.rng.random() < link.loss:
                link.dropped += 1
                continue
            copies = 2 if link.rng.random() < link.duplicate else 1
            for _ in range(copies):
                at = self.now + link.delay + link.rng.uniform(0, link.jitter)
                self._n += 1
                heapq.heappush(self.queue, (at, self._n, dest, t.data))

    def run(self, seconds: float, *, a_sends: bool = True, b_sends: bool = False,
            freq: float = 440.0, step: float = 0.005) -> None:  # fmt: skip
        end = self.now + seconds
        next_frame = self.now
        index = int(self.now / 0.02)
        while self.now < end:
            if self.now >= next_frame - 1e-9:
                if a_sends:
                    self.a.session.send_frame(sine_frame(index, freq), self.now)
                if b_sends:
                    self.b.session.send_frame(sine_frame(index, freq * 2), self.now)
                index += 1
                next_frame += 0.02
            while self.queue and self.queue[0][0] <= self.now:
                _, _, dest, data = heapq.heappop(self.queue)
                dest.session.receive(data, self.now)
            for peer in (self.a, self.b):
                deadline = peer.session.deadline()
                if deadline is not None and deadline <= self.now:
                    peer.session.tick(self.now)
                self._drain(peer)
            self.now += step


def config(ssrc: int, **kwargs: object) -> AudioSessionConfig:
    from pywebrtc.media import OPUS

    base: dict[str, object] = {
        "local_ssrc": ssrc,
        "cname": f"peer-{ssrc}",
        "send_codec": OPUS,
        "receive_codecs": (OPUS,),
        "mid": "0",
    }
    base.update(kwargs)
    return AudioSessionConfig(**base)  # type: ignore[arg-type]
