"""The media half of a peer connection: transceivers, their audio sessions and video
pipelines, RTP routing.

:class:`MediaPlane` holds the W3C transceivers and the sans-IO
:class:`~pywebrtc.media.AudioSession` of each audio one, or the
:class:`~pywebrtc.videoplane.VideoLink` (a :class:`~pywebrtc.media.video.session.VideoSession`
and its codecs) of each video one (one BUNDLE transport). The peer connection calls
it from offer/answer (which sections to write, what the remote said); the
:class:`~pywebrtc.session.PeerSession` hands it plain RTP and RTCP (SRTP is the transport's)
and drives it with ``tick``/``poll``/``deadline``. It routes RTP by SSRC, then by the RFC 8843
mid extension, then to the only receiving section; gives RTCP to every session; delivers decoded
audio to the receivers' tracks; and runs one task per sending transceiver that awaits
``track.recv()`` (the track paces: 20 ms), asking its shell (``wake``) to flush what it sent.
Once a sending section numbers its packets (transport-cc negotiated), one send-side bandwidth
estimator for the transport (:attr:`MediaPlane.bandwidth`, :mod:`pywebrtc.rtp.bwe`) sees every
packet sent, audio and video (RTX included), and the feedback, REMB and reports that come back;
its target is shared out (:meth:`~pywebrtc.rtp.bwe.transport.TransportBandwidth.shares`): the
Opus encoders' bitrate first (the configured bitrate stays the ceiling), the rest to the video
encoders (:attr:`~pywebrtc.videoplane.VideoLink.target_bitrate`, which also sets their frame
rate).

Bad input (malformed packets, packets nobody takes) is dropped and counted in
:attr:`MediaPlane.drops`; SRTP failures are the session's (``PeerSession.counters``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import av

from pywebrtc.dtls import SrtpKeys
from pywebrtc.jsep import video as jsep_video
from pywebrtc.jsep.audio import (
    OFFER_CODECS,
    LocalAudio,
    NegotiatedAudio,
    RemoteAudio,
    intersect_direction,
    negotiate_audio,
    offer_extensions,
)
from pywebrtc.jsep.video import LocalVideo, NegotiatedVideo, RemoteVideo, negotiate_video
from pywebrtc.media import (
    AudioCodec,
    AudioSession,
    AudioSessionConfig,
    MediaStreamError,
    MediaStreamTrack,
)
from pywebrtc.media.dtmf import ToneChange
from pywebrtc.media.pipeline import EncodedReceived, FrameReceived, RemoteEnded, TelephoneEvent
from pywebrtc.media.track import (
    EncodedAudioTrack,
    EncodedVideoTrack,
    RemoteAudioTrack,
    RemoteVideoTrack,
)
from pywebrtc.media.video import VideoCodec
from pywebrtc.rtcrtptransceiver import (
    RTCDTMFToneChangeEvent,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    receives,
    sends,
)
from pywebrtc.rtp.bwe.transport import OPUS_MIN_BITRATE, TransportBandwidth
from pywebrtc.rtp.extensions import ABS_SEND_TIME_URI, SDES_MID_URI, TRANSPORT_WIDE_CC_URI
from pywebrtc.rtp.packet import RtpPacket
from pywebrtc.rtp.rtcp import RtcpPacket, serialize_rtcp
from pywebrtc.rtp.sender import ExtensionIds, TransportSequence
from pywebrtc.rtp.twcc_feedback import TwccFeedback
from pywebrtc.sdp import Direction
from pywebrtc.settings import SettingEngine
from pywebrtc.stats import (
    RTCAudioSourceStats,
    RTCCodecStats,
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCRemoteOutboundRtpStreamStats,
    RTCStats,
    RTCStatsReport,
)
from pywebrtc.transmit import Transmit

if TYPE_CHECKING:
    from pywebrtc.media.video.session import VideoSessionConfig
    from pywebrtc.videoplane import VideoLink

logger = logging.getLogger(__name__)

_NOTHING: tuple[bytes, ...] = ()
_NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix), RFC 5905 §6


@dataclass(slots=True)
class MediaDrops:
    """Datagrams the plane dropped before any session saw them."""

    malformed: int = 0
    unrouted: int = 0  # no transceiver takes the SSRC


class MediaPlane:
    # Slots, not a __dict__: one per peer connection, its attributes read per packet.
    __slots__ = (
        "_clock", "_cname", "_emit_track", "_negotiation_needed", "_out", "_routes",
        "_settings", "_stream_id", "_transport_sequence", "_twcc", "_wake", "bandwidth",
        "closed", "deadline_moved", "decode", "drops", "keys", "ntp_offset", "transceivers",
    )  # fmt: skip

    def __init__(
        self,
        clock: Callable[[], float],
        wake: Callable[[], None],
        emit_track: Callable[[RTCRtpTransceiver], None],
        decode: bool = True,
        settings: SettingEngine | None = None,
        negotiation_needed: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._negotiation_needed = negotiation_needed
        self._wake = wake
        self._emit_track = emit_track
        self._out: list[bytes] = []  # (a deque costs 760 bytes empty)
        self.decode = decode
        self._settings = settings or SettingEngine()
        self.transceivers: list[RTCRtpTransceiver] = []
        self.keys: SrtpKeys | None = None
        self.ntp_offset = time.time() + _NTP_EPOCH_OFFSET - clock()
        self.drops = MediaDrops()
        self._routes: dict[int, RTCRtpTransceiver] = {}
        self.bandwidth: TransportBandwidth | None = None  # once a sender numbers its packets
        self.closed = False
        self._twcc: TwccFeedback | None = None  # transport-wide CC feedback, with video
        self._cname: str | None = None
        self._stream_id: str | None = None
        self._transport_sequence: TransportSequence | None = None
        # The deadline may be earlier than when :meth:`deadline` was last read and filed: set
        # by every datagram and tick except an echo that provably left it where it was
        # (receive_rtp); the owner that files the deadline clears it (SessionDriver). The
        # owner's other calls wake the driver, whose flush reads the deadline again.
        self.deadline_moved = True

    # Made when audio first needs them: a data-only session never does (memory per session).
    @property
    def cname(self) -> str:
        if self._cname is None:
            self._cname = str(uuid.uuid4())
        return self._cname

    @property
    def stream_id(self) -> str:
        if self._stream_id is None:
            self._stream_id = str(uuid.uuid4())
        return self._stream_id

    @property
    def transport_sequence(self) -> TransportSequence:
        if self._transport_sequence is None:
            self._transport_sequence = TransportSequence(random.randint(1, 0xFFFF))
        return self._transport_sequence

    # ------------------------------------------------------------------ W3C API

    def add_transceiver(
        self,
        track: MediaStreamTrack | None,
        direction: str,
        decode: bool | None = None,
        kind: str = "audio",
    ) -> RTCRtpTransceiver:
        if kind not in ("audio", "video"):
            raise ValueError(f"a transceiver is audio or video, not {kind!r}")
        if decode is None:
            decode = self.decode if kind == "audio" else self._settings.video_decode
        transceiver = RTCRtpTransceiver(
            kind,
            direction,
            RTCRtpSender(track, kind),
            RTCRtpReceiver(kind, decode),
        )
        transceiver._on_stop = self._on_stop
        transceiver._on_negotiation = self._negotiation_needed
        transceiver.sender._on_change = lambda: self._restart_sender(transceiver)
        transceiver.receiver.run_coroutine = asyncio.ensure_future
        dtmf = transceiver.sender.dtmf
        if dtmf is not None:
            dtmf.run_coroutine = asyncio.ensure_future
            dtmf._insert = lambda tones, duration, gap: self._insert_dtmf(
                transceiver, tones, duration, gap
            )
        self.transceivers.append(transceiver)
        return transceiver

    def add_track(self, track: MediaStreamTrack) -> RTCRtpSender:
        if track.kind not in ("audio", "video"):
            raise ValueError(f"only audio and video tracks can be sent, not {track.kind!r}")
        for t in self.transceivers:
            if t.sender.track is track:
                raise ValueError("the track already has a sender")  # W3C InvalidAccessError
        # W3C addTrack: reuse a transceiver of the kind that never sent (e.g. created by a
        # remote offer).
        for t in self.transceivers:
            if t.kind != track.kind:
                continue
            if not t.stopped and t.sender.track is None and not t.used_for_sending:
                t.sender.track = track
                t.sender.track_id = track.id
                t.used_for_sending = True
                if t.direction == "recvonly":
                    t.direction = "sendrecv"
                elif t.direction == "inactive":
                    t.direction = "sendonly"
                self._restart_sender(t)
                return t.sender
        return self.add_transceiver(track, "sendrecv", kind=track.kind).sender

    def remove_track(self, sender: RTCRtpSender) -> None:
        t = next((t for t in self.transceivers if t.sender is sender), None)
        if t is None:
            raise ValueError("the sender does not belong to this peer connection")
        if sender.track is None or t.stopped:
            return
        sender.track = None
        if t.direction == "sendrecv":
            t.direction = "recvonly"
        elif t.direction == "sendonly":
            t.direction = "inactive"
        self._restart_sender(t)

    # ------------------------------------------------------------------ offer/answer

    def assign_mids(self, taken: set[str]) -> list[str]:
        """Give a mid to every transceiver that has none (for our offer); return them."""
        new: list[str] = []
        counter = 0
        for t in self.transceivers:
            if t.mid is None and not t.stopped:
                while str(counter) in taken:
                    counter += 1
                t.mid = str(counter)
                taken.add(t.mid)
                new.append(t.mid)
        return new

    def local_section(
        self, transceiver: RTCRtpTransceiver, answer: bool
    ) -> LocalAudio | LocalVideo:
        assert transceiver.mid is not None
        direction = Direction(transceiver._direction)
        negotiated = transceiver.negotiated
        if answer and negotiated is not None:
            direction = negotiated.direction
        if transceiver.kind == "video":
            assert not isinstance(negotiated, NegotiatedAudio)
            preferences = transceiver.codec_preferences
            return LocalVideo(
                transceiver.mid,
                direction,
                transceiver.sender.ssrc,
                transceiver.sender.rtx_ssrc,
                self.cname,
                self.stream_id,
                transceiver.sender.track_id,
                stopped=transceiver.stopped,
                negotiated=negotiated if answer else None,
                codecs=_video_codecs(preferences) or jsep_video.OFFER_CODECS,
                extensions=jsep_video.video_offer_extensions(negotiated),
            )
        assert not isinstance(negotiated, NegotiatedVideo)
        return LocalAudio(
            transceiver.mid,
            direction,
            transceiver.sender.ssrc,
            self.cname,
            self.stream_id,
            transceiver.sender.track_id,
            stopped=transceiver.stopped,
            negotiated=negotiated if answer else None,
            codecs=_audio_codecs(transceiver.codec_preferences) or OFFER_CODECS,
            extensions=offer_extensions(negotiated),
        )

    def offer_applied(self, mids: list[str]) -> None:
        """Our offer is the local description: remember each section's offered direction."""
        for t in self.transceivers:
            if t.mid in mids and not t.stopped:
                t.offered_direction = t._direction

    def negotiation_needed(self, we_offered: bool, mids: set[str], rejected: set[str]) -> bool:
        """W3C §4.7.3 "check if negotiation is needed", the transceiver steps, against the
        last completed exchange: its m-line ``mids`` (``rejected`` ones with port 0) and whether
        our side of it was the offer."""
        for t in self.transceivers:
            associated = t.mid is not None and t.mid in mids
            if t.stopped:
                if associated and t.mid not in rejected:
                    return True
                continue
            n = t.negotiated
            if not associated or n is None:
                return True
            wanted = Direction(t._direction)
            remote = t.remote_section
            if we_offered:  # our offer or the answer to it says what the transceiver wants
                settled = str(wanted) == t.offered_direction or wanted == n.direction
            else:  # our answer says it, as far as the offer allowed
                settled = remote is None or intersect_direction(wanted, remote.direction) == (
                    n.direction
                )
            if not settled:
                return True
        return False

    def offer_sections(self) -> list[LocalAudio | LocalVideo]:
        return [
            self.local_section(t, answer=False) for t in self.transceivers if t.mid is not None
        ]

    def answer_sections(self) -> dict[str, LocalAudio | LocalVideo]:
        for t in self.transceivers:
            self._renegotiate(t)
        return {
            t.mid: self.local_section(t, answer=True)
            for t in self.transceivers
            if t.mid is not None
        }

    def apply_remote(
        self,
        sections: Mapping[str, tuple[str, RemoteAudio | RemoteVideo | None]],
        offer: bool,
    ) -> None:
        """Apply the remote description's audio and video sections (mid -> (kind, section),
        the section None if rejected).

        A section the remote sends on fires ``track`` now, as W3C and aiortc do inside
        setRemoteDescription: a handler may still addTrack and answer sendrecv."""
        fire: list[RTCRtpTransceiver] = []
        for mid, (kind, remote) in sections.items():
            t = next((t for t in self.transceivers if t.mid == mid), None)
            if t is None and offer and remote is not None:
                # W3C: take a transceiver of the kind addTrack made and no offer has used yet,
                # else a new recvonly one.
                t = next(
                    (
                        t
                        for t in self.transceivers
                        if t.mid is None
                        and t.kind == kind
                        and not t.stopped
                        and t.negotiated is None
                    ),
                    None,
                )
                if t is None:
                    t = self.add_transceiver(None, "recvonly", kind=kind)
                t.mid = mid
            if t is None or t.kind != kind:
                continue
            if remote is None:
                if not t.stopped:
                    t.stop()
                continue
            if t.stopped:
                continue
            t.remote_section = remote
            t.remote_offered = offer
            negotiated = _negotiate(t, remote, we_offered=not offer)
            t.negotiated = negotiated
            if negotiated is None and not offer:
                t.stop()
            elif negotiated is not None and sends(str(remote.direction)) and not t.track_fired:
                fire.append(t)
        for t in fire:
            t.track_fired = True
            self._emit_track(t)

    def _renegotiate(self, t: RTCRtpTransceiver) -> None:
        # The direction may have changed since the remote offer (addTrack before our answer).
        if t.remote_section is not None and t.remote_offered and not t.stopped:
            t.negotiated = _negotiate(t, t.remote_section, we_offered=False)

    def stable(self) -> None:
        """Both descriptions are applied: current directions, track events, sessions."""
        for t in self.transceivers:
            self._renegotiate(t)
            n = t.negotiated
            if t.stopped or n is None:
                continue
            t.currentDirection = str(n.direction)
            if receives(t.currentDirection) and not t.track_fired:
                t.track_fired = True
                self._emit_track(t)
        self._configure_sessions()

    # ------------------------------------------------------------------ sessions

    def start_srtp(self, keys: SrtpKeys) -> None:
        """DTLS is keyed. The libsrtp contexts hold native memory (~15 KiB a connection), so
        they are made only once audio needs them: a data-only connection never does."""
        self.keys = keys
        self._configure_sessions()

    def _config(self, t: RTCRtpTransceiver, n: NegotiatedAudio, twcc: bool) -> AudioSessionConfig:
        send_codec = n.send_codec if sends(str(n.direction)) else None
        opus = self._settings
        bitrate = opus.opus_bitrate
        if send_codec is not None:
            maxavg = send_codec.parameters.get("maxaveragebitrate")
            if maxavg and maxavg.isdigit():
                bitrate = max(6000, min(bitrate, int(maxavg)))
        return AudioSessionConfig(
            local_ssrc=t.sender.ssrc,
            cname=self.cname,
            mid=t.mid,
            send_codec=send_codec,
            receive_codecs=n.codecs if receives(str(n.direction)) else (),
            remote_ssrc=n.remote_ssrc,
            extension_ids=n.extension_ids,
            nack=n.nack,
            twcc_feedback=twcc,
            decode=t.receiver.decode,
            forward=self._settings.audio_forward,
            hurry=self._settings.audio_hurry,
            dtmf_codec=n.dtmf_codec if send_codec is not None else None,
            bitrate=bitrate,
            opus_fec=opus.opus_fec,
            opus_dtx=opus.opus_dtx,
            opus_complexity=opus.opus_complexity,
            opus_application=opus.opus_application,
            min_rtcp_interval=self._settings.rtcp_report_interval,
        )

    def _configure_sessions(self) -> None:
        if self.closed or not self.transceivers:
            return
        if self.keys is None:
            return
        twcc_taken = self._configure_twcc()
        for t in self.transceivers:
            n = t.negotiated
            if t.stopped or n is None or t.currentDirection is None:
                continue
            if isinstance(n, NegotiatedVideo):
                self._configure_video(t, n)
                continue
            twcc = n.transport_cc and not twcc_taken  # one feedback stream per transport
            twcc_taken = twcc_taken or twcc
            config = self._config(t, n, twcc)
            if t.session is None:
                t.session = AudioSession(
                    config,
                    ntp_offset=self.ntp_offset,
                    transport_sequence=self.transport_sequence,
                )
            else:
                t.session.reconfigure(config)
            if n.remote_ssrc is not None:
                self._routes[n.remote_ssrc] = t
            if self.bandwidth is None and config.send_codec and n.extension_ids.transport_cc:
                self.bandwidth = TransportBandwidth()
            self._restart_sender(t)
        self._share_bitrate()
        self._wake()

    def _configure_twcc(self) -> bool:
        """With video, transport-wide CC feedback is the plane's: one
        :class:`~pywebrtc.rtp.twcc_feedback.TwccFeedback` sees every RTP packet of the
        transport (the sequence numbers are transport-wide: feedback from the audio session
        alone would report the video packets lost). Audio-only, an audio session gives it, as
        before. True when the plane gives it."""
        video = next(
            (
                (t, n)
                for t in self.transceivers
                if isinstance(n := t.negotiated, NegotiatedVideo)
                and n.transport_cc
                and not t.stopped
                and t.currentDirection is not None
            ),
            None,
        )
        ext = video[1].extension_id(TRANSPORT_WIDE_CC_URI) if video is not None else None
        if video is None or ext is None:
            self._twcc = None
            return False
        if self._twcc is None:
            self._twcc = TwccFeedback(video[0].sender.ssrc, ext)
        self._twcc.extension_id = ext
        return True

    def _configure_video(self, t: RTCRtpTransceiver, n: NegotiatedVideo) -> None:
        """Make or reconfigure ``t``'s video link."""
        from pywebrtc.videoplane import VideoLink  # PyAV's video codecs: only when video runs

        config = self._video_config(t, n, n.transport_cc)
        if t.video is None:
            track = t.receiver.track
            assert isinstance(track, RemoteVideoTrack | EncodedVideoTrack)
            t.video = VideoLink(
                config, self._clock, self._wake, self._out, track,
                ntp_offset=self.ntp_offset, transport_sequence=self.transport_sequence,
            )  # fmt: skip
        else:
            t.video.reconfigure(config)
        link = t.video
        link.on_sent = functools.partial(self._video_sent, link)
        link.max_framerate = self._settings.video_max_framerate
        # (REMB alone, without transport-cc, is enough: the estimate is then the peer's)
        if self.bandwidth is None and config.send_codec and (
            config.extension_ids.transport_cc or n.remb
        ):
            self.bandwidth = TransportBandwidth()
        for ssrc in (n.remote_ssrc, n.remote_rtx_ssrc):
            if ssrc is not None:
                self._routes[ssrc] = t
        self._restart_sender(t)

    def _video_config(
        self, t: RTCRtpTransceiver, n: NegotiatedVideo, twcc: bool
    ) -> VideoSessionConfig:
        from pywebrtc.media.video.session import VideoSessionConfig

        send_codec = n.send_codec if sends(str(n.direction)) else None
        rtx = send_codec is not None and send_codec.rtx_payload_type is not None
        return VideoSessionConfig(
            ssrc=t.sender.ssrc,
            cname=self.cname,
            send_codec=send_codec,
            receive_codecs=n.receive_codecs if receives(str(n.direction)) else {},
            rtx_ssrc=t.sender.rtx_ssrc if rtx else None,
            nack=n.nack,
            pli=n.pli,
            fir=n.fir,
            mid=t.mid,
            extension_ids=ExtensionIds(
                mid=n.extension_id(SDES_MID_URI),
                abs_send_time=n.extension_id(ABS_SEND_TIME_URI),
                transport_cc=n.extension_id(TRANSPORT_WIDE_CC_URI) if twcc else None,
            ),
            remote_ssrc=n.remote_ssrc,
            remote_rtx_ssrc=n.remote_rtx_ssrc,
        )

    def _restart_sender(self, t: RTCRtpTransceiver) -> None:
        link = t.video
        if t.kind == "video":
            if link is not None:
                want = not t.stopped and not self.closed and sends(t.currentDirection)
                link.start_sender(t.sender.track if want else None)
            return
        want = (
            t.session is not None
            and not t.stopped
            and not self.closed
            and t.sender.track is not None
            and sends(t.currentDirection)
        )
        self._unforward(t)
        track = t.sender.track
        if want and isinstance(track, EncodedAudioTrack):
            # A raw track this connection receives (an echo, a forward between sections):
            # each packet goes from the receiving session to this sender as it comes out,
            # with no av.Packet, track queue or sender task per packet.
            source = next((s for s in self.transceivers if s.receiver.track is track), None)
            if source is not None:
                if t.send_task is not None:
                    t.send_task.cancel()
                    t.send_task = None
                source.forwarded_by += (t,)
                return
        task = t.send_task
        if task is not None:
            if want and getattr(task, "_pywebrtc_track", None) is t.sender.track:
                return
            task.cancel()
            t.send_task = None
        if want:
            track = t.sender.track
            assert track is not None
            new = asyncio.ensure_future(self._run_sender(t, track))
            new._pywebrtc_track = track  # type: ignore[attr-defined]
            t.send_task = new

    async def _run_sender(self, t: RTCRtpTransceiver, track: MediaStreamTrack) -> None:
        clock = self._clock
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            session = t.session
            if session is None or t.stopped or self.closed:
                return
            now = clock()
            if isinstance(frame, av.AudioFrame):
                session.send_frame(frame, now)
            elif isinstance(frame, av.Packet):  # raw: encoded Opus, pts in 48 kHz units
                session.send_encoded(bytes(frame), int(frame.pts or 0), now)
            self._flush(t, session, now)
            self._wake()

    def _unforward(self, t: RTCRtpTransceiver) -> None:
        """``t`` no longer sends another transceiver's received packets directly."""
        for source in self.transceivers:
            if t in source.forwarded_by:
                source.forwarded_by = tuple(s for s in source.forwarded_by if s is not t)

    def _forward(self, t: RTCRtpTransceiver, payload: bytes, timestamp: int, now: float) -> None:
        """Send a packet ``t`` received on every sender that sends its track (as
        :meth:`_run_sender` would, one loop iteration later, through the track's queue)."""
        if self.closed:
            return
        for sender in t.forwarded_by:
            session = sender.session
            if session is None or sender.stopped:
                continue
            session.send_encoded(payload, timestamp, now)
            if sender is not t:  # t's own events are being drained by the caller
                self._flush(sender, session, now)

    def _insert_dtmf(self, t: RTCRtpTransceiver, tones: str, duration: int, gap: int) -> None:
        session = t.session
        if session is None:
            return
        # The first tone starts on the next timer tick: W3C queues the playout task.
        session.insert_dtmf(tones, duration, gap, self._clock())
        self._wake()

    def _on_stop(self, t: RTCRtpTransceiver) -> None:
        if t.video is not None:
            t.video.close()
            t.video = None
            self._wake()
        if t.send_task is not None:
            t.send_task.cancel()
            t.send_task = None
        t.forwarded_by = ()
        self._unforward(t)
        session = t.session
        if session is not None:
            now = self._clock()
            session.close(now)
            self._flush(t, session, now)
            t.session = None
            self._wake()
        t.receiver.track.finish()
        for ssrc in [s for s, owner in self._routes.items() if owner is t]:
            del self._routes[ssrc]

    def close(self) -> None:
        if self.closed:
            return
        for t in self.transceivers:
            t.stop()
        self.closed = True

    def detach(self) -> None:
        """The owner is closed: let go of its callbacks, so that the owner and this plane are
        freed by reference counting, without the cyclic collector."""
        self._wake = self._negotiation_needed = _nothing
        self._emit_track = _no_track
        for t in self.transceivers:
            t.detach()

    # ------------------------------------------------------------------ datagrams and timer

    def receive_rtcp(self, packets: list[RtcpPacket], now: float) -> None:
        """An SRTCP datagram's packets, unprotected by the transport: every session reads them,
        and the bandwidth estimator the feedback, REMB and reports about our streams."""
        self.deadline_moved = True
        bandwidth = self.bandwidth
        for t in self.transceivers:
            if t.session is not None:
                t.session.receive_rtcp_packets(packets, now)
                self._flush(t, t.session, now)
                if bandwidth is not None and (report := t.session.reporter.remote_inbound):
                    bandwidth.loss_report(report, now)
            elif t.video is not None:
                t.video.receive_rtcp(packets, now)
                if bandwidth is not None and (report := t.video.session.reporter.remote_inbound):
                    bandwidth.loss_report(report, now)
        if bandwidth is not None:
            bandwidth.receive_rtcp(packets, now)
            if bandwidth.changed() is not None:
                self._share_bitrate()

    @property
    def target_bitrate(self) -> int | None:
        """The transport's send-side bandwidth estimate (bit/s, media and headers), None
        without transport-wide feedback. Audio takes its share first (:meth:`_share_bitrate`);
        the rest is free for other media."""
        return None if self.bandwidth is None else self.bandwidth.target_bitrate

    def _share_bitrate(self) -> None:
        """Give each sending audio session and video link its share of the estimate."""
        bandwidth = self.bandwidth
        if bandwidth is None:
            return
        senders = [t.session for t in self.transceivers
                   if t.session is not None and t.session.sender is not None]  # fmt: skip
        links = [t.video for t in self.transceivers
                 if t.video is not None and t.video.config.send_codec is not None]  # fmt: skip
        shares = bandwidth.shares([s.config.bitrate for s in senders], len(links))
        for session in senders:
            session.set_bitrate(max(OPUS_MIN_BITRATE, shares.audio))
        if shares.video is not None:
            video = min(shares.video, self._settings.video_max_bitrate)
            for link in links:
                link.target_bitrate = video

    def _video_sent(self, link: VideoLink, data: bytes, now: float) -> None:
        """A video link's datagram left: the estimator reads its transport-wide number."""
        bandwidth = self.bandwidth
        ext = link.config.extension_ids.transport_cc
        if bandwidth is not None and ext is not None:
            bandwidth.sent(data, ext, now)

    def receive_rtp(self, data: bytes, now: float) -> None:
        """One RTP packet, unprotected by the transport: to the session its SSRC or mid names."""
        twcc = self._twcc
        if twcc is None and len(data) >= 12:
            owner = self._routes.get(int.from_bytes(data[8:12]))
            if owner is not None and (forwarded_by := owner.forwarded_by) and (
                session := owner.session
            ):
                if (
                    len(forwarded_by) == 1
                    and forwarded_by[0] is owner
                    and not self.closed
                    and not owner.stopped
                ):
                    # An echo moves the deadline only as echo_moved says (no playout, no DTMF
                    # playing; a timer started, a loss seen), or the bandwidth estimator's
                    # when its feedback timeout starts with this packet.
                    echoed = session.echo_bare(data, now)
                    if echoed is not None:
                        # Sent back on the section it came in (an echo): one call, no Transmit.
                        moved = session.echo_moved
                        if echoed:
                            self._out.append(echoed)
                            bandwidth = self.bandwidth
                            ext = session.config.extension_ids.transport_cc
                            if bandwidth is not None and ext is not None:
                                estimator = bandwidth.estimator
                                timing = estimator.deadline() is not None
                                bandwidth.sent(echoed, ext, now)
                                moved = moved or (not timing and estimator.deadline() is not None)
                        if session.pending:
                            self.deadline_moved = True
                            self._flush(owner, session, now)
                        elif moved:
                            self.deadline_moved = True
                        return
                self.deadline_moved = True
                # Sent on as it comes (an echo): no RtpPacket, event or av.Packet per packet.
                forwarded = session.receive_forwarded(data, now)
                if forwarded is not None:
                    self._forward(owner, forwarded[0], forwarded[1], now)
                self._flush(owner, session, now)
                return
        self.deadline_moved = True
        try:
            packet = RtpPacket.parse(data)
            if twcc is not None:
                twcc.incoming_rtp(packet, now)
        except ValueError:
            self.drops.malformed += 1
            return
        owner = self._routes.get(packet.ssrc) or self._route(packet)
        if owner is not None and owner.video is not None:
            self._routes[packet.ssrc] = owner
            owner.video.receive_packet(packet, now)
            return
        session = owner.session if owner is not None else None
        if owner is None or session is None:
            self.drops.unrouted += 1
            return
        self._routes[packet.ssrc] = owner
        session.receive_packet(packet, now)
        self._flush(owner, session, now)

    def _route(self, packet: RtpPacket) -> RTCRtpTransceiver | None:
        """The receiving transceiver of a packet with an SSRC not seen yet: the one its mid
        extension names (RFC 8843 §9.2), else the only receiving one without a signalled SSRC
        of the packet's kind (by payload type), else the only receiving one."""
        candidates = [t for t in self.transceivers if (t.session or t.video) and receives(
            t.currentDirection)]  # fmt: skip
        for t in candidates:
            ext = _mid_extension(t)
            if ext is not None:
                try:
                    value = packet.extension(ext)
                except ValueError:
                    return None
                if value is not None:
                    mid = value.decode(errors="replace")
                    return next((c for c in candidates if c.mid == mid), None)
                break
        unclaimed = [
            t for t in candidates if t.negotiated is not None and t.negotiated.remote_ssrc is None
        ]
        if len(unclaimed) > 1:  # audio and video: the one whose codecs have the payload type
            unclaimed = [t for t in unclaimed if _has_payload_type(t, packet.payload_type)]
        if len(unclaimed) == 1:
            return unclaimed[0]
        if len(candidates) == 1:
            return candidates[0]
        return None

    def deadline(self) -> float | None:
        if self.closed:
            # (transport-wide feedback and the estimator would still ask to be woken: the
            # loop's timer would keep the closed session, and the peer connection, filed)
            return None
        best = self._twcc.deadline() if self._twcc is not None else None
        bandwidth = self.bandwidth
        if bandwidth is not None and (d := bandwidth.estimator.deadline()) is not None:
            best = d if best is None else min(best, d)
        for t in self.transceivers:
            if t.session is not None:
                d = t.session.deadline()
            elif t.video is not None:
                d = t.video.deadline()
            else:
                continue
            if d is not None and (best is None or d < best):
                best = d
        return best

    def tick(self, now: float) -> None:
        if self.closed:
            return
        self.deadline_moved = True
        twcc = self._twcc
        if twcc is not None and (d := twcc.deadline()) is not None and d <= now:
            feedback = twcc.poll_rtcp(now)
            if feedback:
                self._out.append(serialize_rtcp(feedback))
        bandwidth = self.bandwidth
        if bandwidth is not None and (d := bandwidth.estimator.deadline()) is not None and d <= now:
            bandwidth.estimator.tick(now)
            if bandwidth.changed() is not None:
                self._share_bitrate()
        for t in self.transceivers:
            session = t.session
            if session is not None:
                d = session.deadline()
                if d is not None and d <= now:
                    session.tick(now)
                    self._flush(t, session, now)
            elif (link := t.video) is not None:
                d = link.deadline()
                if d is not None and d <= now:
                    link.tick(now)

    def _flush(self, t: RTCRtpTransceiver, session: AudioSession, now: float) -> None:
        out = self._out
        track = t.receiver.track
        bandwidth = self.bandwidth
        twcc_id = session.config.extension_ids.transport_cc if bandwidth is not None else None
        while (event := session.poll()) is not None:
            if type(event) is Transmit:
                out.append(event.data)
                if twcc_id is not None:
                    assert bandwidth is not None
                    bandwidth.sent(event.data, twcc_id, now)
            elif type(event) is FrameReceived:
                if isinstance(track, RemoteAudioTrack):
                    track.push_frame(event.frame)
            elif type(event) is EncodedReceived:
                if t.forwarded_by:
                    if event.payload is not None:
                        self._forward(t, event.payload, event.timestamp, now)
                elif isinstance(track, EncodedAudioTrack):
                    packet = event.to_packet(48000)
                    if packet is not None:
                        track.push_packet(packet)
            elif type(event) is ToneChange:
                dtmf = t.sender.dtmf
                if dtmf is not None:
                    dtmf.emit("tonechange", RTCDTMFToneChangeEvent(event.tone))
            elif type(event) is TelephoneEvent:
                t.receiver.emit("dtmf", event)
            elif isinstance(event, RemoteEnded):
                logger.debug("remote source %s ended: %s", event.ssrc, event.reason)

    def poll(self) -> bytes | None:
        """The next plain RTP or RTCP packet to protect and send."""
        return self._out.pop(0) if self._out else None

    def take(self) -> Sequence[bytes]:
        """What :meth:`poll` would return until None, in one call."""
        out = self._out  # (shared with the video links: emptied, not replaced)
        if not out:
            return _NOTHING
        taken = out.copy()
        out.clear()
        return taken

    # ------------------------------------------------------------------ stats

    def add_stats(self, report: RTCStatsReport, ts: float, transport_id: str) -> None:
        """The sessions' W3C stats, linked by id (codecId, localId/remoteId, mediaSourceId)."""
        for t in self.transceivers:
            session, link = t.session, t.video
            if session is not None:
                entries = session.stats()
                config = session.config
                send_pt = config.send_codec.payload_type if config.send_codec else None
                recv_pt = next((c.payload_type for c in config.receive_codecs), None)
            elif link is not None:
                entries = link.stats()
                send_codec = link.config.send_codec
                send_pt = send_codec.payload_type if send_codec else None
                recv_pt = link.receive_payload_type
            else:
                continue
            codec_ids: dict[int, str] = {}
            for entry in entries:
                if entry["type"] == "codec":
                    pt = int(entry["payloadType"] or 0)
                    codec_ids[pt] = f"CO{t.mid}_{pt}"
                    report.add(_build(RTCCodecStats, ts, codec_ids[pt], entry, transport_id))
            for entry in entries:
                kind = entry["type"]
                ssrc = entry.get("ssrc")
                if kind == "inbound-rtp":
                    stats: RTCStats = _build(
                        RTCInboundRtpStreamStats, ts, f"IT{t.mid}_{ssrc}", entry, transport_id
                    )
                    assert isinstance(stats, RTCInboundRtpStreamStats)
                    stats.trackIdentifier = t.receiver.track.id
                    stats.codecId = codec_ids.get(-1 if recv_pt is None else recv_pt)
                    stats.remoteId = f"ROA{t.mid}_{ssrc}"
                elif kind == "outbound-rtp":
                    stats = _build(
                        RTCOutboundRtpStreamStats, ts, f"OT{t.mid}_{ssrc}", entry, transport_id
                    )
                    assert isinstance(stats, RTCOutboundRtpStreamStats)
                    stats.codecId = codec_ids.get(-1 if send_pt is None else send_pt)
                    stats.remoteId = f"RIA{t.mid}_{ssrc}"
                    if t.sender.track is not None:
                        source_id = f"S{t.kind[0].upper()}{t.mid}"
                        stats.mediaSourceId = source_id
                        report.add(
                            RTCAudioSourceStats(
                                ts, "media-source", source_id, kind=t.kind,
                                trackIdentifier=t.sender.track.id,
                            )
                        )  # fmt: skip
                elif kind == "remote-inbound-rtp":
                    stats = _build(
                        RTCRemoteInboundRtpStreamStats, ts, f"RIA{t.mid}_{ssrc}", entry,
                        transport_id,
                    )  # fmt: skip
                    assert isinstance(stats, RTCRemoteInboundRtpStreamStats)
                    stats.localId = f"OT{t.mid}_{ssrc}"
                    stats.codecId = codec_ids.get(-1 if send_pt is None else send_pt)
                elif kind == "remote-outbound-rtp":
                    stats = _build(
                        RTCRemoteOutboundRtpStreamStats, ts, f"ROA{t.mid}_{ssrc}", entry,
                        transport_id,
                    )  # fmt: skip
                    assert isinstance(stats, RTCRemoteOutboundRtpStreamStats)
                    stats.localId = f"IT{t.mid}_{ssrc}"
                    stats.codecId = codec_ids.get(-1 if recv_pt is None else recv_pt)
                else:
                    continue
                report.add(stats)


def _mid_extension(t: RTCRtpTransceiver) -> int | None:
    n = t.negotiated
    if isinstance(n, NegotiatedVideo):
        return n.extension_id(SDES_MID_URI)
    return n.extension_ids.mid if n is not None else None


def _has_payload_type(t: RTCRtpTransceiver, payload_type: int) -> bool:
    n = t.negotiated
    if n is None:
        return False
    for codec in n.codecs:
        if codec.payload_type == payload_type:
            return True
        if isinstance(codec, VideoCodec) and codec.rtx_payload_type == payload_type:
            return True
    return False


def _negotiate(
    t: RTCRtpTransceiver, remote: RemoteAudio | RemoteVideo, we_offered: bool
) -> NegotiatedAudio | NegotiatedVideo | None:
    """Offer/answer for one transceiver's section, by its kind."""
    wanted = Direction(t._direction)
    if isinstance(remote, RemoteVideo):
        return negotiate_video(
            wanted, remote, we_offered=we_offered,
            preferences=_video_codecs(t.codec_preferences),
        )  # fmt: skip
    return negotiate_audio(
        wanted, remote, we_offered=we_offered, preferences=_audio_codecs(t.codec_preferences)
    )


def _audio_codecs(codecs: Sequence[object]) -> tuple[AudioCodec, ...]:
    return tuple(c for c in codecs if isinstance(c, AudioCodec))


def _video_codecs(codecs: Sequence[object]) -> tuple[VideoCodec, ...]:
    return tuple(c for c in codecs if isinstance(c, VideoCodec))


def _build(
    cls: type[RTCStats], ts: float, id_: str, entry: Mapping[str, Any], transport_id: str
) -> RTCStats:
    names = {f.name for f in dataclasses.fields(cls)} - {"timestamp", "type", "id"}
    values = {k: v for k, v in entry.items() if k in names and v is not None}
    if "transportId" in names:
        values["transportId"] = transport_id
    return cls(ts, str(entry["type"]), id_, **values)


def _nothing() -> None:
    pass


def _no_track(transceiver: RTCRtpTransceiver) -> None:
    pass


__all__ = ["MediaDrops", "MediaPlane"]
