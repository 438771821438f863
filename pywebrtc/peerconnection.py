"""``RTCPeerConnection`` (W3C webrtc-pc §4.4), aiortc-shaped, over one sans-IO peer session.

The transport is a :class:`~pywebrtc.session.PeerSession` (ICE, DTLS, SRTP, SCTP and the audio
sessions of one bundled transport, sans-IO) driven by a :class:`~pywebrtc.shell.SessionDriver`
(its sockets or UDP mux, and the event loop's one :class:`~pywebrtc.shell.LoopTimer`). This
module keeps JSEP (offer/answer, :mod:`pywebrtc.negotiation`) and the W3C objects, and turns the
session's events into W3C events: the DTLS client starts when ICE has a usable pair, SCTP sends
INIT as soon as the handshake completes, and a data channel is usable as soon as its DCEP OPEN
is queued (RFC 8832 §6).

State machines (W3C): ``signalingState`` (§4.3.1), ``iceGatheringState`` (§4.3.2),
``iceConnectionState`` (§4.3.3, ICE's own), ``connectionState`` (§4.3.4, ICE and DTLS
combined). Each change is emitted as ``<name>change`` (``signalingstatechange`` ...).
Negotiation (SDP) is in :mod:`pywebrtc.jsep.negotiation`.

Audio and video (``addTrack``, ``addTransceiver``, the ``track`` event, SRTP, getStats for RTP
streams) are :mod:`pywebrtc.mediaplane` on the same transport.
Renegotiation keeps the transport (sections added, directions changed, transceivers stopped).

``negotiationneeded`` (W3C §4.7.3) is queued after addTrack, removeTrack, addTransceiver, the
first createDataChannel, a transceiver's stop or direction change, and when the signaling
state returns to stable; it fires once per stable period while negotiation is needed, and not
while offer/answer operations are pending: createOffer, createAnswer, setLocalDescription,
setRemoteDescription and addIceCandidate are chained (W3C §4.4.1.2), one at a time in call
order, and the flag is updated once the chain is empty.

ICE restart (RFC 8445 §9, W3C ``restartIce()`` or ``createOffer(iceRestart=True)``, and a
remote description with new ICE credentials) keeps DTLS, SRTP and SCTP: only the agent's
credentials, candidates and checks are new, and the old pair carries data until a new one is
selected.

Left out: rollback, pranswer, and SDP munging: ``setLocalDescription`` applies
the type of the description it is given and our own parameters, not edited text. ``sctp`` is
the :class:`~pywebrtc.sctp.SctpAssociation` (aiortc has an ``RTCSctpTransport`` there), and
stats timestamps are W3C milliseconds (aiortc uses ``datetime``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Literal, TypeVar

from pywebrtc.configuration import RTCConfiguration, default_certificate, parse_server_url
from pywebrtc.dtls import DtlsConfig, DtlsConnection
from pywebrtc.exceptions import InvalidDescriptionError, InvalidStateError
from pywebrtc.ice import Candidate
from pywebrtc.ice.agent import Agent
from pywebrtc.ice.candidate import CandidateType, ip_literal
from pywebrtc.ice.config import IceConfig
from pywebrtc.jsep.candidates import from_sdp_candidate, parse_candidate
from pywebrtc.jsep.negotiation import (
    DEFAULT_REMOTE_MAX_MESSAGE_SIZE,
    LocalData,
    LocalTransport,
    RemoteDescription,
    RemoteMedia,
    build_answer,
    build_offer,
    new_origin,
    parse_remote,
)
from pywebrtc.jsep.operations import OperationsChain
from pywebrtc.jsep.signaling import next_signaling_state
from pywebrtc.media import MediaStreamTrack
from pywebrtc.mediaplane import MediaPlane
from pywebrtc.rtcdatachannel import ChannelManager, RTCDataChannel
from pywebrtc.rtcicecandidate import RTCIceCandidate, from_ice, to_ice
from pywebrtc.rtcrtptransceiver import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from pywebrtc.rtcsessiondescription import RTCSessionDescription
from pywebrtc.sctp import (
    EventEmitter,
    SctpAssociation,
    SctpConfig,
)
from pywebrtc.sctp.association import WEBRTC_MAX_RETRANS
from pywebrtc.sdp import Setup
from pywebrtc.session import (
    CandidateGathered,
    DtlsStateChanged,
    IceStateChanged,
    PeerSession,
    SessionEvent,
)
from pywebrtc.settings import SettingEngine
from pywebrtc.shell import SessionDriver
from pywebrtc.stats import RTCStatsReport
from pywebrtc.statsreport import build_report
from pywebrtc.timer import LoopTimer, Timed

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def _spawn(coroutine: Any) -> object:
    return asyncio.ensure_future(coroutine)


# A zlib preset dictionary of what SDP from browsers, libwebrtc, aiortc and us repeats: with
# it a description compresses to a third of its text (a browser's audio, video and data offer
# to a sixth), without it to a half.
_SDP_WORDS = (
    b"v=0\r\no=- 0 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
    b"a=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
    b"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    b"m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102\r\n"
    b"a=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 ccm fir\r\n"
    b"a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:111 opus/48000/2\r\n"
    b"a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:96 VP8/90000\r\n"
    b"a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    b"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    b"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    b"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    b"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=sendrecv\r\na=recvonly\r\n"
    b"a=ssrc-group:FID \r\na=ssrc: cname:\r\na=msid:\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
    b"a=rtcp:9 IN IP4 0.0.0.0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    b"c=IN IP4 0.0.0.0\r\na=ice-options:trickle\r\na=setup:actpass\r\na=setup:active\r\n"
    b"a=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\na=end-of-candidates\r\n"
    b"a=ice-ufrag:\r\na=ice-pwd:\r\na=fingerprint:sha-256 \r\n"
    b"a=candidate:1 1 udp 2130706431 127.0.0.1  typ host generation 0 network-id 1\r\n"
    b"a=candidate:2 1 UDP 2122260223 192.168.1.1  typ srflx raddr  rport \r\n"
)


class _PackedDescription:
    """A remote description kept compressed while the session is connected and signalling is
    stable: it is read again seldom if ever (memory per idle session)."""

    __slots__ = ("data", "type")

    def __init__(self, description: RTCSessionDescription) -> None:
        self.type = description.type
        packer = zlib.compressobj(zdict=_SDP_WORDS)
        self.data = packer.compress(description.sdp.encode()) + packer.flush()

    def unpack(self) -> RTCSessionDescription:
        unpacker = zlib.decompressobj(zdict=_SDP_WORDS)
        sdp = (unpacker.decompress(self.data) + unpacker.flush()).decode()
        return RTCSessionDescription(sdp=sdp, type=self.type)


# How long after a session connects its remote description is compressed: not on the set-up's
# path (a compressor with its preset dictionary costs ~35 us there), and never for a session
# that closes sooner.
PACK_DELAY = 1.0


class _Packer(Timed):
    """Compresses the remote descriptions of the peer connections of one event loop that
    connected at least :data:`PACK_DELAY` ago, in one wake-up of the loop's timer."""

    __slots__ = ("timer", "waiting")
    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Packer] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def add(cls, pc: RTCPeerConnection) -> None:
        loop = pc._loop
        packer = cls._by_loop.get(loop)
        if packer is None:
            packer = cls._by_loop[loop] = cls(LoopTimer.for_loop(loop))
        packer.waiting.append((loop.time() + PACK_DELAY, weakref.ref(pc)))
        if packer.when is None:
            packer.timer.schedule(packer, loop.time() + PACK_DELAY)

    def __init__(self, timer: LoopTimer) -> None:
        super().__init__()
        self.timer = timer
        # (when, peer connection), in the order they connected: whens never decrease.
        self.waiting: list[tuple[float, weakref.ref[RTCPeerConnection]]] = []

    def on_timer(self, now: float) -> None:
        waiting = self.waiting
        done = 0
        for when, ref in waiting:
            if when > now:
                break
            done += 1
            pc = ref()
            if pc is not None:
                pc._pack_remote()
        del waiting[:done]
        if waiting:
            self.timer.schedule(self, waiting[0][0])


class RTCPeerConnection(EventEmitter):
    """A WebRTC peer connection (data channels). See the module docstring."""

    # Rarely changed state lives here until an instance sets its own: a session that never
    # restarts ICE, offers a channel, queues trickled candidates or runs background tasks does
    # not carry these names. CPython 3.11 shares an instance's dict keys with its class only
    # up to 30 names; past that every instance gets a dict of its own (1.6 KB each).
    run_coroutine = staticmethod(_spawn)
    _ice_restart = False  # W3C [[LocalIceCredentialsToReplace]] is set
    _awaiting_remote_ice = False  # our restart offer is out: its answer restarts too
    _data_wanted = False  # a channel exists: offer a data section (W3C)
    _offer_mids: list[str] | None = None  # our pending/current offer's sections
    _pending_remote_candidates: list[Candidate | None] | None = None  # before ICE starts
    _closed = False
    _tasks: set[asyncio.Future[None]] | None = None  # made by the first background task

    def __init__(
        self,
        configuration: RTCConfiguration | None = None,
        settings: SettingEngine | None = None,
    ) -> None:
        super().__init__()
        self._configuration = configuration or RTCConfiguration()
        self._settings = settings or SettingEngine()
        certificates = self._configuration.certificates
        self._certificate = certificates[0] if certificates else default_certificate()
        if self._configuration.alwaysNegotiateDataChannels:
            self._data_wanted = True
        self._origin = new_origin()
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:  # built outside a coroutine: the loop it will run on
            self._loop = asyncio.get_event_loop()

        self.signalingState: str = "stable"
        self.iceGatheringState: str = "new"
        self.iceConnectionState: str = "new"
        self.connectionState: str = "new"

        # The transport (pywebrtc.session) and its shell (pywebrtc.shell), made by the first
        # offer or answer; the data channels and audio live in it.
        self._session: PeerSession | None = None
        self._driver: SessionDriver | None = None
        self._ice_servers: _IceServers = (None, None, None, None)
        self._ice: IceConfig | None = None
        self._sctp = ChannelManager(
            SctpAssociation(SctpConfig(max_retransmits=WEBRTC_MAX_RETRANS)),
            is_dtls_client=False,
            clock=self._loop.time,
            wake=self._wake,
        )
        self._sctp.run_coroutine = _spawn
        self._sctp.on("datachannel", self._on_incoming_channel)

        self._local_type: Literal["offer", "answer"] | None = None
        self._local_setup = Setup.ACTPASS
        self._remote: RemoteDescription | None = None
        self._remote_description: RTCSessionDescription | _PackedDescription | None = None
        self._started = False
        # Audio (pywebrtc.mediaplane): transceivers, SRTP, sessions. Raw mode (encoded Opus
        # handed through, no decoding) for every remote track: settings.set_audio_decode(False).
        self._media = MediaPlane(
            self._loop.time,
            self._wake,
            self._emit_track,
            decode=self._settings.audio_decode,
            settings=self._settings,
            negotiation_needed=self._update_negotiation_needed,
        )
        self._negotiation_needed = False  # W3C [[NegotiationNeeded]]
        # W3C [[Operations]] and [[UpdateNegotiationNeededFlagOnEmptyChain]].
        self._operations = OperationsChain(self._on_empty_chain)
        self._data_mid: str | None = None  # the data section's mid once offered or answered
        self._section_order: list[str] = []  # m-line mids of the last applied offer
        # The last rendered description, what it was rendered from and the remote description
        # it answered (which keeps id() in the key unique): localDescription is read after
        # every setLocalDescription (and by signalling code, often more than once), and the
        # inputs are cheap to compare where the SDP is not cheap to write.
        self._rendered: tuple[tuple[object, ...], str, RemoteDescription | None] | None = None

    # ------------------------------------------------------------------ W3C attributes

    @property
    def localDescription(self) -> RTCSessionDescription | None:
        """Our current description, with every candidate gathered so far."""
        kind = self._local_type
        if kind is None:
            return None
        return RTCSessionDescription(sdp=self._render(kind), type=kind)

    @property
    def remoteDescription(self) -> RTCSessionDescription | None:
        remote = self._remote_description
        return remote.unpack() if isinstance(remote, _PackedDescription) else remote

    @property
    def currentLocalDescription(self) -> RTCSessionDescription | None:
        return self.localDescription if self.signalingState == "stable" else None

    @property
    def currentRemoteDescription(self) -> RTCSessionDescription | None:
        return self.remoteDescription if self.signalingState == "stable" else None

    @property
    def pendingLocalDescription(self) -> RTCSessionDescription | None:
        return self.localDescription if self.signalingState == "have-local-offer" else None

    @property
    def pendingRemoteDescription(self) -> RTCSessionDescription | None:
        return self.remoteDescription if self.signalingState == "have-remote-offer" else None

    @property
    def canTrickleIceCandidates(self) -> bool | None:
        return None if self._remote is None else True

    @property
    def sctp(self) -> SctpAssociation | None:
        """The SCTP association once a data section is negotiated."""
        return self._sctp.association if self._remote and self._remote.data else None

    def getConfiguration(self) -> RTCConfiguration:
        return self._configuration

    # ------------------------------------------------------------------ offer/answer

    async def createOffer(
        self, options: Mapping[str, object] | None = None, *, iceRestart: bool = False
    ) -> RTCSessionDescription:
        """An offer; ``iceRestart=True`` (or W3C's ``{"iceRestart": True}``) gives it new ICE
        credentials, as :meth:`restartIce` does."""
        if iceRestart or (options is not None and options.get("iceRestart")):
            self._ice_restart = True
        return await self._chain(self._create_offer)

    def restartIce(self) -> None:
        """W3C §4.4.1.6: the next offer carries new ICE credentials (RFC 8445 §9); fires
        ``negotiationneeded``. Data keeps flowing on the old pair until the new one is chosen."""
        if self._closed:
            return
        self._ice_restart = True
        self._update_negotiation_needed()

    async def createAnswer(self) -> RTCSessionDescription:
        return await self._chain(self._create_answer)

    async def setLocalDescription(
        self, sessionDescription: RTCSessionDescription | None = None
    ) -> None:
        """Apply our offer or answer (implicit one if None), then gather candidates: when
        this returns, ``localDescription.sdp`` holds them (``icecandidate`` events too)."""
        await self._chain(lambda: self._set_local_description(sessionDescription))

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        """Apply the peer's offer or answer. Bad SDP raises :class:`InvalidDescriptionError`
        (a ValueError) and changes nothing."""
        await self._chain(lambda: self._set_remote_description(sessionDescription))

    async def addIceCandidate(
        self, candidate: RTCIceCandidate | Mapping[str, object] | str | object | None
    ) -> None:
        """Add a trickled remote candidate: an RTCIceCandidate (ours or aiortc's), a browser's
        candidate JSON or an ``a=candidate`` string; None (or an empty candidate) is
        end-of-candidates."""
        await self._chain(lambda: self._add_ice_candidate(candidate))

    async def _chain(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """W3C §4.4.1.2 "chain an operation": the five methods above run one at a time, in
        the order they were called; an operation with none ahead starts at once."""
        self._check_open()
        return await self._operations.run(operation)

    def _on_empty_chain(self) -> None:
        if not self._closed:
            self._update_negotiation_needed()

    async def _create_offer(self) -> RTCSessionDescription:
        self._check_open()
        if self.signalingState not in ("stable", "have-local-offer"):
            raise InvalidStateError(f"cannot create an offer in {self.signalingState}")
        self._ensure_ice(controlling=not self._settings.ice_lite)
        await self._restart_local_ice(offering=True)
        self._offer_mids = self._plan_offer()
        return RTCSessionDescription(sdp=self._render("offer", candidates=False), type="offer")

    async def _create_answer(self) -> RTCSessionDescription:
        self._check_open()
        if self.signalingState != "have-remote-offer":
            raise InvalidStateError(f"cannot create an answer in {self.signalingState}")
        return RTCSessionDescription(sdp=self._render("answer", candidates=False), type="answer")

    async def _set_local_description(
        self, sessionDescription: RTCSessionDescription | None
    ) -> None:
        self._check_open()
        if sessionDescription is None:
            kind = "answer" if self.signalingState == "have-remote-offer" else "offer"
        else:
            kind = sessionDescription.type
        if kind not in ("offer", "answer"):
            raise InvalidStateError(f"unsupported local description type {kind!r}")
        following = next_signaling_state(self.signalingState, "local", kind)
        if kind == "offer":
            self._ensure_ice(controlling=not self._settings.ice_lite)
            await self._restart_local_ice(offering=True)  # (createOffer did, if it ran)
            self._local_type = "offer"
            self._local_setup = Setup.ACTPASS
            self._offer_mids = self._plan_offer()
            self._media.offer_applied(self._offer_mids)
        else:
            self._local_type = "answer"
        self._set_signaling(following)
        self._origin = self._origin.next_version()  # RFC 3264 §8: a new description
        await self._gather()
        if self.signalingState == "stable":
            await self._start()
            self._after_stable()

    async def _set_remote_description(self, sessionDescription: RTCSessionDescription) -> None:
        self._check_open()
        kind = sessionDescription.type
        if kind not in ("offer", "answer"):
            raise InvalidDescriptionError(f"unsupported remote description type {kind!r}")
        following = next_signaling_state(self.signalingState, "remote", kind)
        sdp, parsed = sessionDescription.sdp, sessionDescription.parsed
        if kind == "offer":
            remote = parse_remote(sdp, "offer", None, parsed)
        else:
            remote = parse_remote(sdp, "answer", self._offer_mids, parsed)
        previous = self._remote if self._started else None
        restarted = previous is not None and (remote.ice_ufrag, remote.ice_pwd) != (
            previous.ice_ufrag,
            previous.ice_pwd,
        )
        # Our restart offer's answer carries the remote side's new credentials (JSEP §5.10).
        awaited = kind == "answer" and self._awaiting_remote_ice
        if previous is not None and not (restarted or awaited):
            # Renegotiation keeps the running transport: its credentials, fingerprints and
            # candidates stay those of the last ICE generation.
            remote.candidates = []
        self._remote = remote
        self._remote_description = RTCSessionDescription(
            sdp=sessionDescription.sdp, type=sessionDescription.type
        )
        self._media.apply_remote(
            {
                m.mid: (m.kind, None if m.rejected else (m.audio or m.video))
                for m in remote.media
                if m.kind in ("audio", "video")
            },
            offer=kind == "offer",
        )
        if restarted and kind == "offer":
            # The peer restarts ICE (RFC 8445 §9, JSEP §5.10): our answer carries new
            # credentials and candidates too. DTLS, SRTP and SCTP go on over whichever pair
            # the new checks select.
            self._ice_restart = True
            await self._restart_local_ice(offering=False)
        elif restarted and not awaited and self._session is not None:
            # The answerer restarted on its own: our side keeps its credentials and candidates.
            agent = self._session.agent
            self._session.restart_ice(
                agent.local_credentials, self._loop.time(), keep_local_candidates=True
            )
        if restarted or awaited:
            self._apply_remote_ice(remote)
        if awaited:
            self._awaiting_remote_ice = False
        if kind == "offer":
            if remote.data is not None:
                self._data_mid = remote.data.mid
            lite = self._settings.ice_lite
            self._ensure_ice(controlling=not lite and remote.ice_lite)
            # RFC 8842 §5.3: answer the opposite of the offer, our preference for actpass.
            dtls = self._session.dtls if self._session is not None else None
            if dtls is not None:  # renegotiation: the DTLS roles are settled
                self._local_setup = Setup.ACTIVE if dtls.is_client else Setup.PASSIVE
            elif remote.setup is Setup.ACTIVE:
                self._local_setup = Setup.PASSIVE
            elif remote.setup is Setup.PASSIVE:
                self._local_setup = Setup.ACTIVE
            elif self._settings.answering_dtls_role == "server":
                self._local_setup = Setup.PASSIVE
            else:
                self._local_setup = Setup.ACTIVE
            self._set_signaling(following)
        else:
            self._set_signaling(following)
            await self._start()
            self._after_stable()

    async def _add_ice_candidate(
        self, candidate: RTCIceCandidate | Mapping[str, object] | str | object | None
    ) -> None:
        self._check_open()
        if self._remote is None:
            raise InvalidStateError("addIceCandidate needs a remote description")
        parsed: Candidate | None
        try:
            if candidate is None:
                parsed = None
            elif isinstance(candidate, RTCIceCandidate):
                parsed = to_ice(candidate)
            elif isinstance(candidate, str):
                parsed = parse_candidate(candidate) if candidate.strip() else None
            elif isinstance(candidate, Mapping):
                rtc = RTCIceCandidate.from_json(candidate)
                parsed = None if rtc is None else to_ice(rtc)
            else:  # another stack's candidate object with aiortc's fields
                parsed = to_ice(RTCIceCandidate.from_fields(candidate))
        except ValueError as exc:
            raise InvalidDescriptionError(f"bad ICE candidate: {exc}") from exc
        if parsed is not None and parsed.transport not in ("udp", "tcp"):
            return
        if not self._started:
            if self._pending_remote_candidates is None:
                self._pending_remote_candidates = []
            self._pending_remote_candidates.append(parsed)
            return
        assert self._driver is not None
        await self._driver.add_remote_candidate(parsed)

    # ------------------------------------------------------------------ data channels

    def createDataChannel(
        self,
        label: str,
        ordered: bool = True,
        maxPacketLifeTime: int | None = None,
        maxRetransmits: int | None = None,
        protocol: str = "",
        negotiated: bool = False,
        id: int | None = None,
    ) -> RTCDataChannel:
        self._check_open()
        channel = self._sctp.create_channel(
            label,
            ordered=ordered,
            max_packet_life_time=maxPacketLifeTime,
            max_retransmits=maxRetransmits,
            protocol=protocol,
            negotiated=negotiated,
            id=id,
        )
        channel.run_coroutine = _spawn
        if not self._data_wanted:
            self._data_wanted = True
            self._update_negotiation_needed()
        self._wake()
        return channel

    def _on_incoming_channel(self, channel: RTCDataChannel) -> None:
        channel.run_coroutine = _spawn
        self.emit("datachannel", channel)

    # ------------------------------------------------------------------ media (W3C §5)

    def addTrack(self, track: MediaStreamTrack, *streams: object) -> RTCRtpSender:
        """Send ``track`` (audio or video): on a transceiver of its kind that never sent, else
        a new sendrecv one.
        Renegotiate afterwards (``negotiationneeded`` says when)."""
        self._check_open()
        sender = self._media.add_track(track)
        self._update_negotiation_needed()
        return sender

    def removeTrack(self, sender: RTCRtpSender) -> None:
        """Stop sending on ``sender``; its section becomes recvonly/inactive at the next offer."""
        self._check_open()
        self._media.remove_track(sender)
        self._update_negotiation_needed()

    def addTransceiver(
        self,
        trackOrKind: MediaStreamTrack | str,
        direction: str = "sendrecv",
        *,
        decode: bool | None = None,
    ) -> RTCRtpTransceiver:
        """A new audio or video transceiver. ``decode=False`` (pywebrtc extension) makes its
        remote track an :class:`~pywebrtc.media.EncodedAudioTrack` (raw Opus packets) or an
        :class:`~pywebrtc.media.EncodedVideoTrack` (encoded frames)."""
        self._check_open()
        if isinstance(trackOrKind, str):
            kind, track = trackOrKind, None
        else:
            kind, track = trackOrKind.kind, trackOrKind
        if kind not in ("audio", "video"):
            raise ValueError(f"a transceiver is audio or video, not {kind!r}")
        transceiver = self._media.add_transceiver(track, direction, decode, kind)
        self._update_negotiation_needed()
        return transceiver

    def getTransceivers(self) -> list[RTCRtpTransceiver]:
        return list(self._media.transceivers)

    def getSenders(self) -> list[RTCRtpSender]:
        return [t.sender for t in self._media.transceivers if not t.stopped]

    def getReceivers(self) -> list[RTCRtpReceiver]:
        return [t.receiver for t in self._media.transceivers if not t.stopped]

    def _emit_track(self, transceiver: RTCRtpTransceiver) -> None:
        self.emit("track", transceiver.receiver.track)

    def _plan_offer(self) -> list[str]:
        """Our offer's m-line mids: the negotiated ones in place (RFC 3264 §8), then a new
        data section, then new transceivers."""
        order = list(self._section_order)
        taken = set(order)
        if self._data_wanted and self._data_mid is None:
            mid = next(str(i) for i in range(len(taken) + 1) if str(i) not in taken)
            self._data_mid = mid
        if self._data_mid is not None and self._data_mid not in taken:
            order.append(self._data_mid)
            taken.add(self._data_mid)
        for t in self._media.transceivers:
            if t.mid is not None and t.mid not in taken:
                order.append(t.mid)
                taken.add(t.mid)
        order.extend(self._media.assign_mids(taken))
        return order

    def _after_stable(self) -> None:
        """Offer and answer are both applied: media sessions, a data section added later."""
        remote = self._remote
        if remote is None or self._closed:
            return
        self._section_order = [m.mid for m in remote.media]
        self._media.stable()
        # W3C §4.4.1.5 (set the description, stable again): a change the exchange did not
        # carry fires negotiationneeded again.
        self._negotiation_needed = False
        self._update_negotiation_needed()
        data = remote.data
        session = self._session
        if data is not None and session is not None and self._started:
            self._configure_sctp(data)
            session.start_sctp(self._loop.time())
            self._wake()

    # ------------------------------------------------------------------ negotiationneeded

    def _update_negotiation_needed(self) -> None:
        """W3C §4.7.3 "update the negotiation-needed flag": the check runs in a queued task,
        or, while operations are chained, once the chain is empty."""
        if self._operations.busy:
            self._operations.update_on_empty = True
            return
        self._loop.call_soon(self._negotiation_needed_task)

    def _negotiation_needed_task(self) -> None:
        if self._closed:
            return
        if self._operations.busy:
            self._operations.update_on_empty = True
            return
        if self.signalingState != "stable":
            return
        if not self._is_negotiation_needed():
            self._negotiation_needed = False
            return
        if self._negotiation_needed:
            return
        self._negotiation_needed = True
        self.emit("negotiationneeded")

    def _is_negotiation_needed(self) -> bool:
        """W3C §4.7.3 "check if negotiation is needed" against the current descriptions."""
        remote = self._remote
        if self._data_wanted and (remote is None or remote.data is None):
            return True
        if self._ice_restart and self._started:
            return True
        rejected = {m.mid for m in remote.media if m.rejected} if remote is not None else set()
        return self._media.negotiation_needed(
            self._local_type == "offer", set(self._section_order), rejected
        )

    # ------------------------------------------------------------------ stats and close

    async def getStats(self) -> RTCStatsReport:
        """W3C webrtc-stats: the transport, candidates and pairs, certificates, data channels
        and RTP streams (:func:`pywebrtc.statsreport.build_report`)."""
        return build_report(self._certificate, self._session, self._sctp, self._media)

    async def close(self) -> None:
        """Close channels (SCTP ABORT), DTLS (close_notify) and ICE; states become closed."""
        if self._closed:
            return
        self._closed = True
        channels = [*self._sctp.channels.values(), *self._sctp._unassigned]
        if self._driver is not None:
            self._driver.close()  # BYE, SCTP ABORT and DTLS close_notify go out first
        else:
            self._media.close()
        for channel in [*self._sctp.channels.values(), *self._sctp._unassigned]:
            if channel.readyState != "closed":
                channel.readyState = "closed"
                channel.emit("close")
        for channel in channels:
            # Nothing fires on a closed channel: its handlers, which usually hold it (an app
            # replying on it), are dropped so that no cycle is left (see dispatch).
            channel.remove_all_listeners()
        for task in list(self._tasks or ()):
            task.cancel()
        self._set_signaling("closed")
        self._set_state("iceConnectionState", "closed")
        self._set_state("connectionState", "closed")
        # Nothing calls us back now: our parts let go of our bound methods (and the channel
        # manager of its channels), so that a dropped peer connection is freed by reference
        # counting, without a pass of the cyclic collector over every object it holds.
        self._sctp.detach()
        self._media.detach()
        self._operations.detach()

    # ------------------------------------------------------------------ internals: SDP

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidStateError("the peer connection is closed")

    def _ensure_ice(self, controlling: bool) -> PeerSession:
        if self._session is not None:
            return self._session
        stun: tuple[str, int] | None = None
        turn: tuple[str, int] | None = None
        turn_user = turn_pass = None
        for server in self._configuration.iceServers or ():
            for url in server.url_list:
                try:
                    scheme, host, port, transport = parse_server_url(url)
                except ValueError:
                    logger.warning("ignoring ICE server URL %r", url)
                    continue
                if scheme == "stun" and stun is None:
                    stun = (host, port)
                elif scheme == "turn" and transport == "udp" and turn is None:
                    turn = (host, port)
                    turn_user, turn_pass = server.username, server.credential
        self._ice_servers = (stun, turn, turn_user, turn_pass)
        ice = self._ice = self._settings.ice_config()
        assert ice.credentials is not None
        agent = Agent(
            controlling,
            ice.credentials,
            lite=ice.ice_lite,
            config=ice.agent_config,
        )
        session = PeerSession(agent, self._sctp, self._media)
        self._session = session
        self._driver = SessionDriver(session, self._loop, ice, self._on_session_event)
        return session

    def _wake(self) -> None:
        """A data channel or a sending track queued work: the shell flushes it soon."""
        if self._driver is not None:
            self._driver.wake()

    def _local_transport(self, candidates: bool) -> LocalTransport:
        session = self._session
        assert session is not None
        agent = session.agent
        texts: tuple[str, ...] = ()
        if candidates:
            texts = tuple(c.to_sdp() for c in _signalled(agent.local_candidates))
        credentials = agent.local_credentials
        return LocalTransport(
            credentials.ufrag,
            credentials.pwd,
            (self._certificate.fingerprint(),),
            ice_lite=self._settings.ice_lite,
            candidates=texts,
            end_of_candidates=candidates and self.iceGatheringState == "complete",
        )

    def _render(self, kind: Literal["offer", "answer"], candidates: bool = True) -> str:
        transport = self._local_transport(candidates)
        data = LocalData(max_message_size=self._sctp.association.config.max_message_size)
        if kind == "offer":
            order = self._offer_mids or []
            data_mid = self._data_mid
            with_data = data_mid is not None and data_mid in order
            rtp = [a for a in self._media.offer_sections() if a.mid in order]
            key: tuple[object, ...] = (
                kind, self._origin, transport, data if with_data else None, data_mid,
                tuple(rtp), tuple(order),
            )  # fmt: skip
            cached = self._rendered
            if cached is not None and cached[0] == key:
                return cached[1]
            sdp = str(
                build_offer(
                    self._origin,
                    transport,
                    data if with_data else None,
                    data_mid or "0",
                    rtp=rtp,
                    order=order,
                )
            )
        else:
            remote = self._remote
            assert remote is not None
            answers = self._media.answer_sections()
            # The remote description by identity: a new one is a new object, and what the
            # answer reads of it (sections, bundle) is not changed once it is applied.
            key = (kind, self._origin, id(remote), transport, self._local_setup, data,
                   tuple(answers.items()))  # fmt: skip
            cached = self._rendered
            if cached is not None and cached[0] == key and cached[2] is remote:
                return cached[1]
            sdp = str(
                build_answer(self._origin, remote, transport, self._local_setup, data, answers)
            )
            self._rendered = (key, sdp, remote)
            return sdp
        self._rendered = (key, sdp, None)
        return sdp

    def _set_signaling(self, state: str) -> None:
        self._set_state("signalingState", state)

    def _set_state(self, name: str, value: str) -> None:
        if getattr(self, name) == value:
            return
        setattr(self, name, value)
        self.emit(name.lower() + "change")

    # ------------------------------------------------------------------ internals: ICE

    async def _gather(self) -> None:
        if self.iceGatheringState != "new":
            return
        driver = self._driver
        assert driver is not None
        self._set_state("iceGatheringState", "gathering")
        stun, turn, turn_user, turn_pass = self._ice_servers
        relay_only = self._configuration.iceTransportPolicy == "relay"
        await driver.gather(stun, turn, turn_user, turn_pass, "relay" if relay_only else "all")
        if not self._closed:
            self._announce_candidates()

    def _announce_candidates(self) -> None:
        """``icecandidate`` for each local candidate, then None; gathering is complete."""
        driver = self._driver
        assert driver is not None
        mid, index = ("0", 0)
        if self._remote is not None:
            accepted = [(i, m) for i, m in enumerate(self._remote.media) if not m.rejected]
            if accepted:
                index, mid = accepted[0][0], accepted[0][1].mid
        elif self._offer_mids:
            mid = self._offer_mids[0]
        for c in _signalled(driver.session.agent.local_candidates):
            rtc = from_ice(c)
            rtc.sdpMid, rtc.sdpMLineIndex = mid, index
            self.emit("icecandidate", rtc)
        self.emit("icecandidate", None)
        self._set_state("iceGatheringState", "complete")

    def _configure_sctp(self, data: RemoteMedia) -> None:
        association = self._sctp.association
        config = association.config
        port = data.sctp_port or 5000
        size = data.max_message_size or DEFAULT_REMOTE_MAX_MESSAGE_SIZE
        if config.remote_port != port or config.remote_max_message_size != size:
            # (dataclasses.replace is slow; the second call, once stable, changes nothing)
            association.config = dataclasses.replace(
                config, remote_port=port, remote_max_message_size=size
            )

    async def _start(self) -> None:
        """Both descriptions are set: start ICE, and create DTLS with the remote fingerprints."""
        if self._started or self._remote is None:
            return
        remote = self._remote
        if remote.data is None and not remote.media:
            return  # an offer without m-lines: nothing to connect until one adds a section
        self._started = True
        session, driver = self._session, self._driver
        assert session is not None and driver is not None
        assert remote.ice_ufrag and remote.ice_pwd
        is_client = self._local_setup is Setup.ACTIVE or (
            self._local_setup is Setup.ACTPASS and remote.setup is Setup.PASSIVE
        )
        config = DtlsConfig(
            self._certificate,
            remote_fingerprints=remote.fingerprints,
            initial_timeout=self._settings.dtls_initial_timeout,
            versions=self._settings.dtls_versions,
            tls13_groups=self._settings.dtls13_groups,
            # ICE has already checked the peer's address (RFC 8445 §7.2.5.2.1), which is what
            # the stateless cookie exchange (RFC 6347 §4.2.1) would prove: skip its round trip.
            cookie_exchange=False,
        )
        if remote.data is not None:
            self._configure_sctp(remote.data)
        self._sctp.is_dtls_client = is_client
        now = self._loop.time()
        session.start(
            DtlsConnection(config, is_client=is_client),
            remote.ice_ufrag,
            remote.ice_pwd,
            remote.ice_lite,
            remote.data is not None,
            now,
        )
        self._apply_remote_ice(remote, pending=True)

    def _apply_remote_ice(self, remote: RemoteDescription, pending: bool = False) -> None:
        """Hand the remote description's ICE to the session: credentials (after a restart),
        then its candidates; mDNS and FQDN ones are resolved in the background."""
        session, driver = self._session, self._driver
        assert session is not None and driver is not None
        now = self._loop.time()
        if not pending:  # a restart: the first credentials went in with session.start
            assert remote.ice_ufrag and remote.ice_pwd
            session.set_remote_credentials(remote.ice_ufrag, remote.ice_pwd, now)
        signalled, remote.candidates = remote.candidates, []  # kept by ICE from here on
        candidates: list[Candidate | None] = []
        for sdp_candidate in signalled:
            try:
                candidates.append(from_sdp_candidate(sdp_candidate))
            except ValueError:
                logger.info("ignoring remote candidate %r", str(sdp_candidate))
        if pending and self._pending_remote_candidates is not None:
            candidates += self._pending_remote_candidates
            self._pending_remote_candidates = None
        end = remote.end_of_candidates
        resolving: list[Candidate | None] = []
        for candidate in candidates:
            if candidate is None:
                end = True
            elif candidate.transport not in ("udp", "tcp"):
                continue
            elif _literal(candidate):
                session.add_remote_candidate(candidate, now)
            else:
                # Resolving a .local (RFC 8828) or DNS name takes up to a second: not on this
                # call's path. ICE keeps checking the other pairs meanwhile.
                resolving.append(candidate)
        if resolving:
            if end:
                resolving.append(None)
            self._background(self._add_resolved(driver, resolving))
        elif end:
            session.add_remote_candidate(None, now)
        driver.flush()

    async def _restart_local_ice(self, offering: bool) -> None:
        """If a restart was asked for and ICE runs: new local credentials, drawn from the
        settings as they are now (its ufrag generator, its muxes: a new network), and
        candidates gathered again and announced."""
        if not self._ice_restart:
            return
        self._ice_restart = False
        driver = self._driver
        if driver is None or not self._started:
            return  # nothing to restart yet: the first offer has fresh credentials anyway
        ice = self._ice = self._settings.ice_config()
        self._awaiting_remote_ice = offering
        self._set_state("iceGatheringState", "gathering")
        await driver.restart_ice(ice)
        if not self._closed:
            self._announce_candidates()

    async def _add_resolved(
        self, driver: SessionDriver, candidates: list[Candidate | None]
    ) -> None:
        for candidate in candidates:
            if self._closed:
                return
            await driver.add_remote_candidate(candidate)

    def _background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        tasks = self._tasks
        if tasks is None:
            tasks = self._tasks = set()
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _on_session_event(self, event: SessionEvent) -> None:
        if self._closed:
            return
        if isinstance(event, IceStateChanged):
            self._set_state("iceConnectionState", str(event.state))
            self._update_connection_state()
        elif isinstance(event, DtlsStateChanged):
            if event.state in ("closed", "failed"):
                # Nothing more can arrive: received tracks end once drained, as aiortc's do
                # when the peer closes (apps wait for their "ended").
                for transceiver in self._media.transceivers:
                    transceiver.receiver.track.finish()
            self._update_connection_state()
        elif not isinstance(event, CandidateGathered):
            self._sctp.dispatch(event)  # a data channel's open, message, close, ...

    def _update_connection_state(self) -> None:
        if self._closed:
            return
        ice = self.iceConnectionState
        session = self._session
        dtls = session.dtls_state if session is not None else "new"
        if ice == "failed" or dtls == "failed":
            state = "failed"
        elif ice == "disconnected" or dtls == "closed":
            state = "disconnected"
        elif ice in ("connected", "completed") and dtls == "connected":
            state = "connected"
        elif ice == "new" and dtls == "new":
            state = "new"
        else:
            state = "connecting"
        if state == "connected" and self.signalingState == "stable":
            # Signalling is over for now: the rendered description is not kept (memory per
            # idle session); reading localDescription again renders it again. The remote one
            # is kept compressed.
            self._rendered = None
            if type(self._remote_description) is RTCSessionDescription:
                _Packer.add(self)
        self._set_state("connectionState", state)

    def _pack_remote(self) -> None:
        """Keep the remote description compressed if signalling is still stable and connected
        (:class:`_Packer` calls this a while after the connection came up)."""
        remote = self._remote_description
        if (
            type(remote) is RTCSessionDescription
            and not self._closed
            and self.connectionState == "connected"
            and self.signalingState == "stable"
        ):
            self._remote_description = _PackedDescription(remote)


def _literal(candidate: Candidate) -> bool:
    return not candidate.is_mdns and ip_literal(candidate.host) is not None


def _signalled(candidates: list[Candidate]) -> list[Candidate]:
    """Local candidates to signal (peer-reflexive ones are learned, not signalled)."""
    return [c for c in candidates if c.type is not CandidateType.PEER_REFLEXIVE]


_IceServers = tuple[tuple[str, int] | None, tuple[str, int] | None, str | None, str | None]


__all__ = ["RTCPeerConnection"]
