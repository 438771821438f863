"""Audio media plane on one core, ours vs aiortc's equivalent path, in memory.

(a) Pass-through: 1000 concurrent sessions, each packet SRTP-unprotected, accounted (RFC 3550
reception statistics, SR/RR bookkeeping), given the outgoing SSRC and SRTP-protected for the
other leg; no decoding. Ours: ``pywebrtc.media.passthrough.PassThroughSession`` (libsrtp via
pylibsrtp's cffi binding, header read with one struct unpack, RTCP reporter ticked on its own
deadline). aiortc: the same steps with aiortc's own pieces as ``RTCDtlsTransport`` and
``RTCRtpReceiver``/``RTCRtpSender`` chain them — ``pylibsrtp.Session.unprotect``,
``aiortc.rtp.RtpPacket.parse`` with the header-extension map, ``StreamStatistics.add`` (what
the receiver feeds for its RTCP reports), ``RtpPacket.serialize`` and
``pylibsrtp.Session.protect`` — called directly, without aiortc's asyncio tasks and queues,
which only add to its cost. Packets are 80-byte Opus-sized payloads carrying mid,
abs-send-time and audio-level extensions, AEAD_AES_128_GCM, round-robin over the sessions
(so per-session state is not cache-hot, as on a real server).

(b) Decode + encode per session: 50 packets/s received (SRTP → RTP → statistics → jitter
buffer → Opus decode of what Chrome sends by default: mono, 32 kbit/s, in-band FEC — the same
packets on both sides) and 50 frames/s sent (Opus encode → RTP + extensions → SRTP) on one
session, CPU time per second of audio, as % of a core. Ours: ``AudioSession`` (also runs its
RTCP reporter and playout clock; Opus through libopus directly both ways). aiortc:
``aiortc.codecs.opus.OpusEncoder``/``OpusDecoder``,
``aiortc.jitterbuffer.JitterBuffer(capacity=16, prefetch=4)`` (its audio settings),
``StreamStatistics``, ``compute_audio_level_dbov`` (what ``RTCRtpSender`` computes per frame),
``RtpPacket`` and pylibsrtp, again called directly. Input: 20 ms s16 mono 48 kHz frames of a
440 Hz tone. aiortc always encodes stereo at 96 kbit/s (libopus complexity 10, no FEC) and
decodes to stereo. Ours is shown four ways: its defaults (mono 32 kbit/s, complexity 5, FEC
enabled because the peer's fmtp asks for it, mono output: libopus codes CELT until the peer's
RTCP reports loss), the same after a receiver report of 10% loss (libopus switches to SILK
with in-band FEC, about 3x CELT's cost), a low-CPU setting (CELT-only, never FEC), and aiortc's
own settings. Encoding dominates and is libopus in every case.

(b') The same work through each stack's asyncio layer: aiortc's ``RTCRtpSender`` and
``RTCRtpReceiver`` (its decoder thread, queues and tasks) against a stand-in
``RTCDtlsTransport`` doing pylibsrtp, vs ``AudioSession`` driven by a minimal asyncio shell
(a local track's ``recv()`` → ``send_frame``; ``FrameReceived`` → ``RemoteAudioTrack``). This
is the figure the issue's "aiortc spends ~5% to send and ~3% to receive" refers to.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import os
import random
import time
from array import array
from collections.abc import Callable

import av

from bench.harness import Case, Scenario
from pywebrtc.dtls import SrtpProfile
from pywebrtc.media import AudioCodec, AudioSession, AudioSessionConfig
from pywebrtc.media.passthrough import PassThroughSession
from pywebrtc.rtp.rtcp import ReceiverReport, ReportBlock
from pywebrtc.rtp.sender import ExtensionIds, RtpSender
from pywebrtc.srtp import MasterKey, SrtpContext, SrtpSession

PROFILE = SrtpProfile.SRTP_AEAD_AES_128_GCM
SESSIONS = 1000
PACKETS_PER_SESSION = 20
PAYLOAD = 80
IDS = ExtensionIds(mid=1, audio_level=2, abs_send_time=3)
SECONDS = 4  # of audio per decode+encode sample

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
AST_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


def _key() -> MasterKey:
    return MasterKey(PROFILE, os.urandom(PROFILE.key_length), os.urandom(PROFILE.salt_length))


def _raw_key(master: MasterKey) -> bytes:
    return master.key + master.salt


def _client_packets(master: MasterKey, ssrc: int, count: int) -> list[bytes]:
    """What a browser would send: SRTP, Opus-sized payloads, three header extensions."""
    ctx = SrtpContext(master, "outbound")
    sender = RtpSender(ssrc, 111, 48000, extension_ids=IDS, mid="0", rng=random.Random(ssrc))
    from pywebrtc.rtp import AudioLevel

    out = []
    for i in range(count):
        packet = sender.packetize(os.urandom(PAYLOAD), 960 * i, i * 0.02,
                                  audio_level=AudioLevel(True, 30))  # fmt: skip
        out.append(ctx.protect_rtp(bytes(packet)))
    return out


def _per_cpu_second(run: Callable[[], int]) -> float:
    start = time.process_time()
    n = run()
    return n / (time.process_time() - start)


# -- (a) pass-through ---------------------------------------------------------------------


def _ours_passthrough_setup() -> Callable[[], int]:
    work: list[tuple[PassThroughSession, bytes, float]] = []
    sessions = []
    for i in range(SESSIONS):
        kin, kout = _key(), _key()
        session = PassThroughSession(
            SrtpContext(kin, "inbound"), SrtpContext(kout, "outbound"),
            local_ssrc=0x10000 + i, cname="bench", rng=random.Random(i),
        )  # fmt: skip
        sessions.append((session, _client_packets(kin, 0x20000 + i, PACKETS_PER_SESSION)))
    for j in range(PACKETS_PER_SESSION):
        for session, packets in sessions:
            work.append((session, packets[j], j * 0.02))

    def run() -> int:
        sink = []
        for session, data, now in work:
            out = session.forward_rtp(data, now)
            if out is not None:
                sink.append(out)
            deadline = session.reporter._next_report
            if deadline is not None and deadline <= now:
                report = session.handle_timeout(now)
                if report is not None:
                    sink.append(report)
        return len(work)

    return run


def _aiortc_passthrough_setup() -> Callable[[], int]:
    import pylibsrtp
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtcrtpreceiver import StreamStatistics
    from aiortc.rtp import HeaderExtensionsMap
    from aiortc.rtp import RtpPacket as AioRtpPacket

    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=MID_URI),
                RTCRtpHeaderExtensionParameters(id=2, uri=LEVEL_URI),
                RTCRtpHeaderExtensionParameters(id=3, uri=AST_URI),
            ]
        )
    )
    profile = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM

    class Leg:
        def __init__(self, kin: MasterKey, kout: MasterKey, ssrc: int) -> None:
            rx = pylibsrtp.Policy(key=_raw_key(kin), ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                                  srtp_profile=profile)  # fmt: skip
            tx = pylibsrtp.Policy(key=_raw_key(kout), ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                  srtp_profile=profile)  # fmt: skip
            self.rx = pylibsrtp.Session(rx)
            self.tx = pylibsrtp.Session(tx)
            self.stats: dict[int, StreamStatistics] = {}
            self.ssrc = ssrc

    legs = []
    for i in range(SESSIONS):
        kin, kout = _key(), _key()
        packets = _client_packets(kin, 0x20000 + i, PACKETS_PER_SESSION)
        legs.append((Leg(kin, kout, 0x10000 + i), packets))
    work = [(leg, packets[j]) for j in range(PACKETS_PER_SESSION) for leg, packets in legs]

    def run() -> int:
        sink = []
        for leg, data in work:
            plain = leg.rx.unprotect(data)
            packet = AioRtpPacket.parse(plain, ext_map)
            stats = leg.stats.get(packet.ssrc)
            if stats is None:
                stats = leg.stats[packet.ssrc] = StreamStatistics(48000)
            stats.add(packet)
            packet.ssrc = leg.ssrc
            sink.append(leg.tx.protect(packet.serialize(ext_map)))
        return len(work)

    return run


def _fresh(setup: Callable[[], Callable[[], int]]) -> Callable[[], float]:
    """Each sample builds fresh sessions (libsrtp rejects replays of the same packets)."""

    def sample() -> float:
        run = setup()
        return _per_cpu_second(run)

    return sample


# -- (b) decode + encode ------------------------------------------------------------------


def _tone(seconds: int, rate: int = 48000) -> list[av.AudioFrame]:
    frames = []
    tb = fractions.Fraction(1, rate)
    for i in range(seconds * 50):
        samples = array("h", (int(12000 * math.sin(2 * math.pi * 440 * (i * 960 + n) / rate))
                              for n in range(960)))  # fmt: skip
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = rate
        frame.pts = i * 960
        frame.time_base = tb
        frames.append(frame)
    return frames


TONE: list[av.AudioFrame] = []


def _browser_packets(seconds: int) -> list[bytes]:
    """What Chrome sends by default: mono Opus at 32 kbit/s with in-band FEC (useinbandfec=1)."""
    from pywebrtc.media.opus import OpusEncoder

    codec = AudioCodec("opus", 111, 48000, 2, {"useinbandfec": "1"})
    enc = OpusEncoder(codec, channels=1, bitrate=32000, complexity=9)
    return [p.payload for f in _tone_frames(seconds) for p in enc.encode(f)]


def _tone_frames(seconds: int) -> list[av.AudioFrame]:
    if len(TONE) < seconds * 50:
        TONE[:] = _tone(seconds)
    return TONE[: seconds * 50]


def _ours_codec_percent(
    *, stereo: bool = False, bitrate: int = 32000, application: str = "audio",
    fec: bool | None = None, complexity: int = 5, reported_loss: int = 0,
) -> Callable[[], float]:  # fmt: skip
    codec = AudioCodec(
        "opus", 111, 48000, 2, {"useinbandfec": "1", "stereo": "1" if stereo else "0"}
    )

    def sample() -> float:
        k1, k2 = _key(), _key()
        peer_srtp = SrtpSession(k2, k1)
        session = AudioSession(
            AudioSessionConfig(
                local_ssrc=1, cname="bench", send_codec=codec, receive_codecs=(codec,), mid="0",
                extension_ids=IDS, output_channels=2 if stereo else 1, bitrate=bitrate,
                opus_fec=fec, opus_complexity=complexity, opus_application=application,
            ),
            srtp=SrtpSession(k1, k2), rng=random.Random(1),
        )  # fmt: skip
        if reported_loss:  # the peer's receiver report: `reported_loss`/256 of our stream lost
            report = ReceiverReport(2, (ReportBlock(1, reported_loss),))
            session.receive_rtcp_packets([report], 0.0)
        sender = RtpSender(2, 111, 48000, extension_ids=IDS, mid="0", rng=random.Random(2))
        incoming = [
            peer_srtp.protect_rtp(bytes(sender.packetize(p, 960 * i, i * 0.02)))
            for i, p in enumerate(_browser_packets(SECONDS))
        ]
        frames = _tone_frames(SECONDS)
        start = time.process_time()
        for i, (data, frame) in enumerate(zip(incoming, frames, strict=True)):
            now = i * 0.02
            session.receive(data, now)
            session.send_frame(frame, now)
            deadline = session.deadline()
            if deadline is not None and deadline <= now:
                session.tick(now)
            while session.poll() is not None:
                pass
        cpu = time.process_time() - start
        assert session.frames_decoded > 0.8 * len(incoming)
        return 100 * cpu / SECONDS

    return sample


def _aiortc_codec_percent() -> float:
    import pylibsrtp
    from aiortc.codecs.opus import OpusDecoder, OpusEncoder
    from aiortc.jitterbuffer import JitterBuffer
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtcrtpreceiver import StreamStatistics
    from aiortc.rtp import HeaderExtensionsMap, compute_audio_level_dbov
    from aiortc.rtp import RtpPacket as AioRtpPacket

    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri=MID_URI),
                RTCRtpHeaderExtensionParameters(id=2, uri=LEVEL_URI),
                RTCRtpHeaderExtensionParameters(id=3, uri=AST_URI),
            ]
        )
    )
    profile = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM
    k1, k2 = _key(), _key()
    inbound, outbound = pylibsrtp.Policy.SSRC_ANY_INBOUND, pylibsrtp.Policy.SSRC_ANY_OUTBOUND
    rx = pylibsrtp.Session(
        pylibsrtp.Policy(key=_raw_key(k2), srtp_profile=profile, ssrc_type=inbound)
    )
    tx = pylibsrtp.Session(
        pylibsrtp.Policy(key=_raw_key(k1), srtp_profile=profile, ssrc_type=outbound)
    )
    peer_srtp = SrtpSession(k2, k1)
    sender = RtpSender(2, 111, 48000, extension_ids=IDS, mid="0", rng=random.Random(2))
    incoming = [
        peer_srtp.protect_rtp(bytes(sender.packetize(p, 960 * i, i * 0.02)))
        for i, p in enumerate(_browser_packets(SECONDS))
    ]
    frames = _tone_frames(SECONDS)
    encoder = OpusEncoder()
    decoder = OpusDecoder()
    jitter = JitterBuffer(capacity=16, prefetch=4)
    stats = StreamStatistics(48000)
    seq = 1000
    start = time.process_time()
    decoded = 0
    for i, (data, frame) in enumerate(zip(incoming, frames, strict=True)):
        # receive: RTCDtlsTransport + RTCRtpReceiver + its decoder worker
        packet = AioRtpPacket.parse(rx.unprotect(data), ext_map)
        stats.add(packet)
        packet._data = packet.payload  # type: ignore[attr-defined]  # depayload() for Opus
        _, encoded = jitter.add(packet)
        if encoded is not None:
            decoded += len(decoder.decode(encoded))
        # send: RTCRtpSender
        level = compute_audio_level_dbov(frame)
        payloads, timestamp = encoder.encode(frame)
        for payload in payloads:
            out = AioRtpPacket(payload_type=111, sequence_number=seq, timestamp=timestamp)
            seq = (seq + 1) & 0xFFFF
            out.ssrc = 1
            out.payload = payload
            out.extensions.abs_send_time = (int(i * 0.02 * (1 << 18))) & 0xFFFFFF
            out.extensions.mid = "0"
            out.extensions.audio_level = (False, -level)
            tx.protect(out.serialize(ext_map))
    cpu = time.process_time() - start
    assert decoded > 0.8 * len(incoming)
    return 100 * cpu / SECONDS


# -- (b') the same through each stack's asyncio layer ----------------------------------------


def _incoming(seconds: int, k_remote: MasterKey, k_local: MasterKey) -> list[bytes]:
    peer = SrtpSession(k_remote, k_local)
    sender = RtpSender(2, 111, 48000, extension_ids=IDS, mid="0", rng=random.Random(2))
    return [
        peer.protect_rtp(bytes(sender.packetize(p, 960 * i, i * 0.02)))
        for i, p in enumerate(_browser_packets(seconds))
    ]


def _ours_full_percent(**options: object) -> Callable[[], float]:
    """AudioSession driven by a minimal asyncio shell: a local track's recv() feeds
    send_frame, received packets feed receive, FrameReceived events go into a
    RemoteAudioTrack that the application awaits."""
    from pywebrtc.media import AudioStreamTrack, FrameReceived, RemoteAudioTrack, Transmit

    codec = AudioCodec("opus", 111, 48000, 2, {"useinbandfec": "1"})

    def sample() -> float:
        k1, k2 = _key(), _key()
        incoming = _incoming(SECONDS, k2, k1)
        frames = _tone_frames(SECONDS)
        count = len(frames)

        class Tone(AudioStreamTrack):
            index = 0

            async def recv(self) -> av.AudioFrame:
                frame = frames[self.index]
                self.index += 1
                await asyncio.sleep(0)
                return frame

        async def run() -> float:
            start = time.process_time()
            session = AudioSession(
                AudioSessionConfig(
                    local_ssrc=1, cname="bench", send_codec=codec, receive_codecs=(codec,),
                    mid="0", extension_ids=IDS, **options,  # type: ignore[arg-type]
                ),
                srtp=SrtpSession(k1, k2), rng=random.Random(1),
            )  # fmt: skip
            remote = RemoteAudioTrack(max_frames=count)
            track = Tone()
            sent = 0

            def drain() -> None:
                nonlocal sent
                while (out := session.poll()) is not None:
                    if isinstance(out, Transmit):
                        sent += 1
                    elif isinstance(out, FrameReceived):
                        remote.push_frame(out.frame)

            async def send_loop() -> None:
                for i in range(count):
                    session.send_frame(await track.recv(), i * 0.02)
                    drain()

            async def receive_loop() -> None:
                for i, data in enumerate(incoming):
                    now = i * 0.02
                    session.receive(data, now)
                    deadline = session.deadline()
                    if deadline is not None and deadline <= now:
                        session.tick(now)
                    drain()
                    await asyncio.sleep(0)

            await asyncio.gather(send_loop(), receive_loop())
            for _ in range(count - 10):
                await remote.recv()
            cpu = time.process_time() - start
            assert sent >= count
            return 100 * cpu / SECONDS

        return asyncio.run(run())

    return sample


def _aiortc_full_percent() -> float:
    """aiortc's RTCRtpSender and RTCRtpReceiver (with its decoder thread) on asyncio, joined to
    a stand-in for RTCDtlsTransport that protects with pylibsrtp; received packets go through
    pylibsrtp unprotect and RtpPacket.parse into _handle_rtp_packet, as RTCDtlsTransport does."""
    import pylibsrtp
    from aiortc.mediastreams import MediaStreamTrack as AioTrack
    from aiortc.rtcrtpparameters import (
        RTCRtcpParameters,
        RTCRtpCodecParameters,
        RTCRtpDecodingParameters,
        RTCRtpHeaderExtensionParameters,
        RTCRtpParameters,
        RTCRtpReceiveParameters,
        RTCRtpSendParameters,
    )
    from aiortc.rtcrtpreceiver import RemoteStreamTrack, RTCRtpReceiver
    from aiortc.rtcrtpsender import RTCRtpSender
    from aiortc.rtp import HeaderExtensionsMap
    from aiortc.rtp import RtpPacket as AioRtpPacket

    profile = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM
    k1, k2 = _key(), _key()
    inbound, outbound = pylibsrtp.Policy.SSRC_ANY_INBOUND, pylibsrtp.Policy.SSRC_ANY_OUTBOUND
    rx = pylibsrtp.Session(
        pylibsrtp.Policy(key=_raw_key(k2), srtp_profile=profile, ssrc_type=inbound)
    )
    tx = pylibsrtp.Session(
        pylibsrtp.Policy(key=_raw_key(k1), srtp_profile=profile, ssrc_type=outbound)
    )
    incoming = _incoming(SECONDS, k2, k1)
    frames = _tone_frames(SECONDS)
    count = len(frames)
    exts = [
        RTCRtpHeaderExtensionParameters(id=1, uri=MID_URI),
        RTCRtpHeaderExtensionParameters(id=2, uri=LEVEL_URI),
        RTCRtpHeaderExtensionParameters(id=3, uri=AST_URI),
    ]
    codec = RTCRtpCodecParameters(
        mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111
    )

    class Transport:
        state = "connected"
        _stats_id = "transport"
        sent = 0

        def _register_rtp_sender(self, *args: object) -> None: ...
        def _register_rtp_receiver(self, *args: object) -> None: ...
        def _unregister_rtp_sender(self, *args: object) -> None: ...
        def _unregister_rtp_receiver(self, *args: object) -> None: ...

        def _get_stats(self) -> dict[str, object]:
            return {}

        async def _send_rtp(self, data: bytes) -> None:
            if 192 <= data[1] <= 223:
                tx.protect_rtcp(data)
            else:
                tx.protect(data)
                self.sent += 1

    class Tone(AioTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.index = 0
            self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def recv(self) -> av.AudioFrame:
            if self.index >= count:
                if not self.done.done():
                    self.done.set_result(None)
                await asyncio.sleep(3600)
            frame = frames[self.index]
            self.index += 1
            await asyncio.sleep(0)
            return frame

    async def run() -> float:
        start = time.process_time()
        transport = Transport()
        track = Tone()
        sender = RTCRtpSender(track, transport)  # type: ignore[arg-type]
        receiver = RTCRtpReceiver("audio", transport)  # type: ignore[arg-type]
        receiver._track = RemoteStreamTrack(kind="audio")  # what RTCPeerConnection does
        await sender.send(
            RTCRtpSendParameters(
                codecs=[codec], headerExtensions=exts, muxId="0", rtcp=RTCRtcpParameters(cname="b")
            )
        )
        await receiver.receive(
            RTCRtpReceiveParameters(
                codecs=[codec], headerExtensions=exts, muxId="0",
                encodings=[RTCRtpDecodingParameters(ssrc=2, payloadType=111)],
            )
        )  # fmt: skip
        ext_map = HeaderExtensionsMap()
        ext_map.configure(RTCRtpParameters(headerExtensions=exts))
        for i, data in enumerate(incoming):
            packet = AioRtpPacket.parse(rx.unprotect(data), ext_map)
            await receiver._handle_rtp_packet(packet, arrival_time_ms=i * 20)
        await track.done
        for _ in range(count - 10):
            await receiver.track.recv()
        cpu = time.process_time() - start
        await sender.stop()
        await receiver.stop()
        assert transport.sent >= count - 5
        return 100 * cpu / SECONDS

    return asyncio.run(run())


AIORTC_CODEC = "aiortc codecs.opus path (stereo 96 kbit/s, stereo output)"
AIORTC_FULL = "aiortc RTCRtpSender + RTCRtpReceiver (decoder thread) on asyncio"


def scenario() -> Scenario:
    ours_pt = _fresh(_ours_passthrough_setup)
    aiortc_pt = _fresh(_aiortc_passthrough_setup)
    return Scenario(
        name="media",
        description=__doc__ or "",
        cases=[
            Case(
                f"pass-through packets per CPU-second, {SESSIONS} sessions round-robin",
                ours_pt,
                aiortc_pt,
                peer_name="aiortc pieces (pylibsrtp + RtpPacket + StreamStatistics)",
                unit="packets/s",
            ),
            Case(
                "pass-through sessions per core, each receiving and sending 50 packets/s "
                "(the row above / 50)",
                lambda: ours_pt() / 50,
                lambda: aiortc_pt() / 50,
                peer_name="aiortc pieces",
                unit="sessions",
            ),
            Case(
                "decode + encode, one session, 50 pkt/s each way; ours by default "
                "(mono 32 kbit/s, complexity 5, FEC as Chrome's fmtp asks: CELT while the "
                "peer reports no loss)",
                _ours_codec_percent(),
                _aiortc_codec_percent,
                peer_name=AIORTC_CODEC,
                unit="% of a core",
                higher_is_better=False,
            ),
            Case(
                "decode + encode, ours by default once the peer reports 10% loss (SILK + "
                "in-band FEC)",
                _ours_codec_percent(reported_loss=26),
                _aiortc_codec_percent,
                peer_name=AIORTC_CODEC,
                unit="% of a core",
                higher_is_better=False,
            ),
            Case(
                "decode + encode, ours low-CPU (mono 32 kbit/s CELT-only, no FEC)",
                _ours_codec_percent(application="lowdelay", fec=False),
                _aiortc_codec_percent,
                peer_name=AIORTC_CODEC,
                unit="% of a core",
                higher_is_better=False,
            ),
            Case(
                "decode + encode, ours with aiortc's encoder settings (stereo 96 kbit/s, "
                "complexity 10, no FEC, stereo output)",
                _ours_codec_percent(
                    stereo=True, bitrate=96000, fec=False, complexity=10, application="voip"
                ),
                _aiortc_codec_percent,
                peer_name=AIORTC_CODEC,
                unit="% of a core",
                higher_is_better=False,
            ),
            Case(
                "decode + encode through the asyncio layer, ours by default",
                _ours_full_percent(),
                _aiortc_full_percent,
                peer_name=AIORTC_FULL,
                unit="% of a core",
                higher_is_better=False,
            ),
            Case(
                "decode + encode through the asyncio layer, ours low-CPU",
                _ours_full_percent(opus_fec=False, opus_application="lowdelay"),
                _aiortc_full_percent,
                peer_name=AIORTC_FULL,
                unit="% of a core",
                higher_is_better=False,
            ),
        ],
        repeats=5,
        notes=[
            "CPU time (time.process_time) per case, so other load on the host inflates both "
            "sides alike only through cache and frequency effects",
            "2 cores shared with other engineers' jobs (tests, benchmarks) during the run",
            f"SRTP profile {PROFILE.name}; {PAYLOAD}-byte payloads; {SESSIONS} sessions x "
            f"{PACKETS_PER_SESSION} packets per pass-through sample, fresh sessions each sample",
            "ours computes the RFC 6464 audio level from every 8th sample; aiortc from every "
            "sample (struct.iter_unpack)",
        ],
    )
