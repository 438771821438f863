"""Two audio sessions on the simulated network (:mod:`tests.simnet`), hosts ``a`` and ``b``,
and a tone sent every 20 ms on the network's clock."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import av

from pywebrtc.dtls import SrtpProfile
from pywebrtc.media import (
    OPUS,
    AudioSession,
    AudioSessionConfig,
    FrameReceived,
    SessionEvent,
)
from pywebrtc.srtp import MasterKey, SrtpSession
from tests.simnet import Host, Impairment, Network

from .tone import sine_frame

A, B = ("192.0.2.1", 5004), ("192.0.2.2", 5004)
FRAME = 0.02


def srtp_pair(
    profile: SrtpProfile = SrtpProfile.SRTP_AEAD_AES_128_GCM,
) -> tuple[SrtpSession, SrtpSession]:
    k1 = MasterKey(profile, os.urandom(profile.key_length), os.urandom(profile.salt_length))
    k2 = MasterKey(profile, os.urandom(profile.key_length), os.urandom(profile.salt_length))
    return SrtpSession(k1, k2), SrtpSession(k2, k1)


@dataclass
class Peer:
    host: Host

    @property
    def session(self) -> AudioSession:
        session: AudioSession = self.host.machine
        return session

    @property
    def events(self) -> list[SessionEvent]:
        return self.host.events

    @property
    def frames(self) -> list[av.AudioFrame]:
        return [e.frame for e in self.events if isinstance(e, FrameReceived)]


class Call:
    """``a`` and ``b`` with impairments each way (``ab``: what ``a`` sends)."""

    def __init__(
        self,
        a: AudioSession,
        b: AudioSession,
        ab: Iterable[Impairment] = (),
        ba: Iterable[Impairment] = (),
        delay: float = 0.03,
        seed: int = 1,
    ) -> None:
        self.net = Network(delay=delay, seed=seed)
        self.a = Peer(self.net.attach(a, A, peer=B, impairments=ab, name="a"))
        self.b = Peer(self.net.attach(b, B, peer=A, impairments=ba, name="b"))

    @property
    def now(self) -> float:
        return self.net.now

    def run(self, seconds: float, *, a_sends: bool = True, b_sends: bool = False,
            freq: float = 440.0) -> None:  # fmt: skip
        """``seconds`` of call; the senders send a tone (``b`` at twice ``freq``)."""
        net = self.net
        end = net.now + seconds
        first = round(net.now / FRAME)

        def frame(index: int) -> None:
            if a_sends:
                self.a.session.send_frame(sine_frame(index, freq), net.now)
            if b_sends:
                self.b.session.send_frame(sine_frame(index, freq * 2), net.now)
            if (index + 1 - first) * FRAME < seconds - 1e-9:
                net.call_at(net.now + FRAME, lambda: frame(index + 1))

        if a_sends or b_sends:
            frame(first)
        net.run(end)
        net.now = end


def config(ssrc: int, **kwargs: object) -> AudioSessionConfig:
    base: dict[str, object] = {
        "local_ssrc": ssrc,
        "cname": f"peer-{ssrc}",
        "send_codec": OPUS,
        "receive_codecs": (OPUS,),
        "mid": "0",
    }
    base.update(kwargs)
    return AudioSessionConfig(**base)  # type: ignore[arg-type]
