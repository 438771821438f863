"""Sessions of the transceiver service: one ICE-lite ``RTCPeerConnection`` per client offer, all
on one UDP socket (:mod:`signaling.udp`), each handed to the application (:mod:`signaling.app`).

A session ends on DELETE/hangup (:meth:`SessionManager.end`), the app's
:meth:`~signaling.app.Session.close`, the peer closing (DTLS close_notify), ICE failure
(including RFC 7675 consent expiry), no connection within ``setup_timeout`` seconds, or the
drain timeout. Ending closes the peer connection (which releases its mux registrations),
cancels the app's tasks and forgets the session, so the gauges go back to zero.

Offers are checked before anything is built: garbage SDP is a 400, an offer without a media
section is a 422. A section we cannot take (a kind other than audio, video and data, or no
codec in common) is rejected in the answer with port 0 (RFC 3264 §6) while the others are
answered; an offer of which nothing usable is left is a 422. The answer to a ``sendrecv`` audio
section is ``sendrecv`` (this server's extension to WHIP, whose answers are normally
``recvonly``: a voice session talks back), to a ``sendonly`` one ``recvonly``. A video section
is answered ``recvonly`` (``inactive`` to a ``recvonly`` offer) unless the app gives its
sender a track (``echo`` sends the client's video back), then ``sendrecv`` to a ``sendrecv``
offer; an app may also set the transceiver's direction itself (the agent sets ``inactive``).

WHIP ICE restart (RFC 9725 §4.3.2): the client's new credentials are applied as a new remote
offer (its last offer with the new ``ice-ufrag``/``ice-pwd``), so the peer connection restarts
ICE as for any restarting offer (new local credentials, DTLS and SCTP carry on).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pywebrtc.configuration import RTCConfiguration
from pywebrtc.dtls.certificate import Certificate
from pywebrtc.ice.candidate import CandidateType, tcp_candidate_priority
from pywebrtc.peerconnection import RTCPeerConnection
from pywebrtc.rtcdatachannel import RTCDataChannel
from pywebrtc.rtcsessiondescription import RTCSessionDescription
from pywebrtc.sdp import SessionDescription
from pywebrtc.sdp.fragment import SdpFragment
from pywebrtc.settings import SettingEngine
from relay.routing import Route, UfragCodec
from signaling.app import Application, Session, SessionKind
from signaling.metrics import Metrics
from signaling.udp import TransceiverSocket, open_transceiver_socket

logger = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_SECTIONS = 16  # more m-lines than any client offers: a hostile offer is refused early
MEDIA_KINDS = ("audio", "video", "application")


class OfferError(ValueError):
    """The client's offer (or trickle fragment) cannot be used: ``status`` is 400 or 422."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Unavailable(Exception):
    """Full or draining: no new session now (503 + Retry-After)."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    udp: Address = ("127.0.0.1", 0)
    advertised: tuple[Address, ...] = ()  # relays' or --public address; () = the UDP socket's
    codec: UfragCodec | None = None
    cluster: int = 0
    transceiver_id: int = 0
    max_sessions: int = 1000
    drain_timeout: float = 30.0
    setup_timeout: float = 30.0
    relayed: bool = False  # relays in front: the socket takes their frames
    relays_tcp: tuple[Address, ...] = ()  # relays' ICE-TCP addresses: passive TCP candidates
    dtls_role: Literal["client", "server"] = "client"  # answering an actpass offer


@dataclass(eq=False, slots=True)
class _Entry:
    """What signaling keeps per session besides the session itself."""

    session: Session
    created: float
    offer: str  # the last remote offer (an ICE restart edits it)
    remote_ufrag: str
    etag: str = field(default_factory=lambda: _new_etag())
    connected: bool = False
    timer: asyncio.TimerHandle | None = None


def _new_etag() -> str:
    return '"' + secrets.token_hex(8) + '"'


class SessionManager:
    def __init__(self, config: ServiceConfig, app: Application, metrics: Metrics) -> None:
        self.config = config
        self.app = app
        self.metrics = metrics
        self.draining = False
        self.socket: TransceiverSocket | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._entries: dict[str, _Entry] = {}
        self._ending: set[asyncio.Task[None]] = set()
        self._empty = asyncio.Event()
        self._empty.set()
        self._rtp_ended = [0, 0, 0, 0]  # RTP packets (all, video) received, sent by ended sessions
        self._certificate: Certificate | None = None
        self._settings = SettingEngine()
        metrics.watch(self._states, self._rtp_totals, self._extra)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # One certificate for every session (its fingerprint goes in each answer): key
        # generation stays off the per-offer path and off the event loop.
        self._certificate = await loop.run_in_executor(None, Certificate.generate)
        self.socket, self._transport = await open_transceiver_socket(
            *self.config.udp, self.config.advertised, framed=self.config.relayed
        )
        settings = self._settings
        settings.set_lite(True)
        settings.set_answering_dtls_role(self.config.dtls_role)
        settings.set_udp_mux(self.socket.muxes)
        settings.set_audio_decode(
            bool(getattr(self.app, "decode_audio", True)),
            forward=bool(getattr(self.app, "forward_audio", False)),
            hurry=bool(getattr(self.app, "hurry_audio", False)),
        )
        settings.set_video_decode(bool(getattr(self.app, "decode_video", True)))
        interval = getattr(self.app, "rtcp_interval", None)
        if interval is not None:
            settings.set_rtcp_report_interval(float(interval))
        codec = self.config.codec
        if codec is not None:
            route = Route(self.config.cluster, self.config.transceiver_id)
            settings.set_ufrag_generator(lambda: codec.encode(route))

    @property
    def udp_address(self) -> Address:
        assert self._transport is not None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def advertised(self) -> list[Address]:
        assert self.socket is not None
        return [mux.local_address for mux in self.socket.muxes]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def ready(self) -> bool:
        return not self.draining and len(self._entries) < self.config.max_sessions

    def get(self, session_id: str) -> Session | None:
        entry = self._entries.get(session_id)
        return entry.session if entry is not None else None

    def etag(self, session_id: str) -> str:
        return self._entries[session_id].etag

    async def drain(self) -> None:
        """Stop taking sessions; wait until they end or the drain timeout passes; end the rest."""
        self.draining = True
        logger.info("draining: %d sessions", len(self._entries))
        try:
            await asyncio.wait_for(self._empty.wait(), self.config.drain_timeout)
        except TimeoutError:
            logger.info("drain timeout: ending %d sessions", len(self._entries))
        await self.close()

    async def close(self) -> None:
        for entry in list(self._entries.values()):
            await self.end(entry.session, "shutdown")
        if self._ending:
            await asyncio.gather(*self._ending, return_exceptions=True)
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------ sessions

    async def create(
        self, offer: str, kind: SessionKind, config: dict[str, object] | None = None
    ) -> tuple[Session, str]:
        """A new session for ``offer``: (the session, the SDP answer)."""
        if self.draining:
            raise Unavailable("draining")
        if len(self._entries) >= self.config.max_sessions:
            raise Unavailable("full")
        parsed = check_offer(offer)
        loop = asyncio.get_running_loop()
        session_id = ("rtc_" if kind == "realtime" else "") + secrets.token_hex(12)
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], certificates=[self._certificate_or_fail()]),
            settings=self._settings,
        )
        session = Session(session_id, pc, kind, config, self.end)
        entry = _Entry(session, loop.time(), offer, _remote_ufrag(parsed))
        self._entries[session_id] = entry
        self._empty.clear()
        self.metrics.sessions_created.inc()
        self._watch(entry)
        try:
            try:
                # The offer as check_offer parsed it: not parsed a second time.
                await pc.setRemoteDescription(
                    RTCSessionDescription(sdp=offer, type="offer", parsed=parsed)
                )
            except Exception as error:  # the offer parsed but the peer connection refuses it
                raise OfferError(400, f"unusable offer: {error}") from None
            directions = _directions(parsed)
            transceivers = pc.getTransceivers()
            for transceiver in transceivers:
                session.tracks.append(transceiver.receiver.track)
                if (
                    transceiver.kind == "audio"
                    and directions.get(transceiver.mid or "") == "sendrecv"
                ):
                    transceiver.direction = "sendrecv"
            await self.app(session)
            for transceiver in transceivers:
                # Video goes back only when the app gives it something to send.
                if (
                    transceiver.kind == "video"
                    and transceiver.sender.track is not None
                    and transceiver.direction == "recvonly"
                    and directions.get(transceiver.mid or "") == "sendrecv"
                ):
                    transceiver.direction = "sendrecv"
            try:
                # The implicit answer (W3C setLocalDescription()): createAnswer's SDP, which
                # has no candidates yet, would be written only to be thrown away.
                await pc.setLocalDescription()
                local = pc.localDescription
            except Exception as error:
                logger.warning("cannot answer an offer", exc_info=True)
                raise OfferError(400, f"cannot answer this offer: {error}") from None
            assert local is not None
            _check_answer(parsed, local.sdp)
        except BaseException:
            await self.end(session, "rejected")
            raise
        entry.timer = loop.call_later(self.config.setup_timeout, self._setup_timeout, entry)
        return session, with_tcp_candidates(local.sdp, self.config.relays_tcp)

    async def end(self, session: Session, reason: str) -> None:
        """End ``session`` (idempotent): close its peer connection, free what it held."""
        entry = self._entries.pop(session.id, None)
        if entry is None or session.end_reason is not None:
            return
        session.end_reason = reason
        logger.debug("session %s ends: %s", session.id, reason)
        if entry.timer is not None:
            entry.timer.cancel()
        for index, count in enumerate(_rtp_counts(session.pc)):
            self._rtp_ended[index] += count
        session._cancel_tasks()
        try:
            await session.pc.close()
        finally:
            session.pc.remove_all_listeners()
            session.channels.clear()
            session.tracks.clear()
            session.ended.set()
            self.metrics.sessions_ended.labels(reason).inc()
            if not self._entries:
                self._empty.set()

    async def trickle(self, session: Session, fragment: SdpFragment) -> str | None:
        """Apply a WHIP PATCH body: candidates (None returned) or an ICE restart (the new
        sdpfrag returned)."""
        entry = self._entries[session.id]
        ufrag, pwd = _fragment_credentials(fragment)
        if ufrag is not None and ufrag != entry.remote_ufrag:
            if pwd is None:
                raise OfferError(400, "an ICE restart needs both ice-ufrag and ice-pwd")
            return await self._restart(entry, ufrag, pwd, fragment)
        for media in fragment.media:
            for line in media.attribute_values("candidate"):
                try:
                    await session.pc.addIceCandidate(
                        {"candidate": "candidate:" + line, "sdpMid": media.mid}
                    )
                except Exception as error:
                    raise OfferError(400, f"bad candidate: {error}") from None
        return None

    async def _restart(self, entry: _Entry, ufrag: str, pwd: str, fragment: SdpFragment) -> str:
        pc = entry.session.pc
        offer = SessionDescription.parse(entry.offer)
        offer.origin = offer.origin.next_version()
        for section in (offer, *offer.media):
            section.remove_attributes("candidate")
            section.remove_attributes("end-of-candidates")
            if section is offer:
                if offer.ice_ufrag is not None:
                    offer.ice_ufrag, offer.ice_pwd = ufrag, pwd
            elif section.ice_ufrag is not None or offer.ice_ufrag is None:
                section.ice_ufrag, section.ice_pwd = ufrag, pwd
        for media in fragment.media:
            target = offer.media_by_mid(media.mid) if media.mid is not None else None
            if target is not None:
                for line in media.attribute_values("candidate"):
                    target.add_attribute("candidate", line)
        text = str(offer)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as error:
            raise OfferError(400, f"ICE restart refused: {error}") from None
        entry.offer = text
        entry.remote_ufrag = ufrag
        entry.etag = _new_etag()
        local = pc.localDescription
        assert local is not None
        return answer_fragment(with_tcp_candidates(local.sdp, self.config.relays_tcp))

    def _certificate_or_fail(self) -> Certificate:
        assert self._certificate is not None, "SessionManager.start() first"
        return self._certificate

    def _watch(self, entry: _Entry) -> None:
        session = entry.session
        pc = session.pc

        def on_state() -> None:
            state = pc.connectionState
            if state == "connected" and not entry.connected:
                entry.connected = True
                if entry.timer is not None:
                    entry.timer.cancel()
                    entry.timer = None
                loop = asyncio.get_running_loop()
                self.metrics.setup_seconds.observe(loop.time() - entry.created)
            elif state == "failed":
                self._end_soon(session, "ice-failed")
            elif state == "disconnected" and _dtls_closed(pc):
                self._end_soon(session, "peer-closed")

        def on_channel(channel: RTCDataChannel) -> None:
            session.channels.append(channel)
            counter = self.metrics.datachannel_messages

            def on_message(_: object) -> None:
                counter.inc()

            def on_close() -> None:
                if channel in session.channels:
                    session.channels.remove(channel)

            channel.on("message", on_message)
            channel.on("close", on_close)

        pc.on("connectionstatechange", on_state)
        pc.on("datachannel", on_channel)

    def _end_soon(self, session: Session, reason: str) -> None:
        task = asyncio.get_running_loop().create_task(self.end(session, reason))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    def _setup_timeout(self, entry: _Entry) -> None:
        entry.timer = None
        if not entry.connected:
            self._end_soon(entry.session, "setup-timeout")

    # ------------------------------------------------------------------ metrics

    def _states(self) -> list[str]:
        return [entry.session.pc.connectionState for entry in self._entries.values()]

    def _rtp_totals(self) -> tuple[int, int, int, int]:
        totals = list(self._rtp_ended)
        for entry in self._entries.values():
            for index, count in enumerate(_rtp_counts(entry.session.pc)):
                totals[index] += count
        received, sent, video_received, video_sent = totals
        return received, sent, video_received, video_sent

    def _extra(self) -> dict[str, float]:
        socket = self.socket
        out: dict[str, float] = {
            "pywebrtc_sessions_capacity": self.config.max_sessions,
            "pywebrtc_draining": float(self.draining),
        }
        if socket is not None:
            out["pywebrtc_udp_mux_addresses"] = socket.mux.address_count
            out["pywebrtc_udp_mux_sessions"] = len(socket.mux)
            out["pywebrtc_udp_frames_dropped"] = (
                socket.counters.dropped_bad_frame + socket.counters.dropped_not_a_relay
            )
        return out


def check_offer(text: str) -> SessionDescription:
    """Parse and vet an offer: 400 for garbage, 422 for what we cannot answer in full."""
    if not text.strip():
        raise OfferError(400, "empty SDP")
    try:
        parsed = SessionDescription.parse(text)
    except Exception as error:
        raise OfferError(400, f"bad SDP: {_one_line(str(error))}") from None
    if not parsed.media:
        raise OfferError(422, "the offer has no media section")
    if len(parsed.media) > MAX_SECTIONS:
        raise OfferError(422, f"more than {MAX_SECTIONS} media sections")
    open_sections = [m for m in parsed.media if not m.rejected]
    if not open_sections:
        raise OfferError(422, "every media section is rejected")
    if all(m.media not in MEDIA_KINDS for m in open_sections):
        kinds = ", ".join(sorted({m.media for m in open_sections}))
        raise OfferError(422, f"unsupported media: {kinds} (audio, video and data only)")
    if _remote_ufrag(parsed) == "":
        raise OfferError(400, "the offer has no ice-ufrag")
    return parsed


def _check_answer(offer: SessionDescription, sdp: str) -> None:
    """At least one section the offer opened is open in the answer (else 422: nothing usable
    is left; a section we reject alone keeps port 0, RFC 3264 §6). The answer is our own SDP:
    its ``m=`` lines are read, not the whole of it parsed again."""
    ports = [line.split(" ", 2)[1] for line in sdp.split("\r\n") if line.startswith("m=")]
    refused = [
        offered.media
        for offered, port in zip(offer.media, ports, strict=False)
        if port.partition("/")[0] == "0" and not offered.rejected
    ]
    if refused and all(
        port.partition("/")[0] == "0" for port in ports
    ):
        raise OfferError(422, f"no codec in common for the {', '.join(refused)} section(s)")


def _remote_ufrag(parsed: SessionDescription) -> str:
    if parsed.ice_ufrag:
        return parsed.ice_ufrag
    for media in parsed.media:
        if media.ice_ufrag:
            return media.ice_ufrag
    return ""


def _directions(parsed: SessionDescription) -> dict[str, str]:
    default = parsed.direction
    out: dict[str, str] = {}
    for media in parsed.media:
        if media.mid is not None:
            direction = media.direction or default
            out[media.mid] = str(direction) if direction is not None else "sendrecv"
    return out


def _fragment_credentials(fragment: SdpFragment) -> tuple[str | None, str | None]:
    ufrag, pwd = fragment.ice_ufrag, fragment.ice_pwd
    for media in fragment.media:
        ufrag = ufrag or media.ice_ufrag
        pwd = pwd or media.ice_pwd
    return ufrag, pwd


def with_tcp_candidates(sdp: str, relays_tcp: Sequence[Address]) -> str:
    """``sdp`` with one RFC 6544 §4.5 ``tcptype passive`` host candidate per relay ICE-TCP
    address after the last candidate of each media section that has candidates.

    The priority is :func:`~pywebrtc.ice.candidate.tcp_candidate_priority`'s (RFC 6544 §4.2),
    below the UDP candidates', so that a client that can use UDP prefers it.
    """
    if not relays_tcp:
        return sdp
    lines = sdp.split("\r\n")
    out: list[str] = []
    for index, line in enumerate(lines):
        out.append(line)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.startswith("a=candidate:") and not following.startswith("a=candidate:"):
            out += [
                f"a=candidate:tcp{n} 1 tcp {TCP_PASSIVE_PRIORITY} {host} {port} typ host "
                "tcptype passive"
                for n, (host, port) in enumerate(relays_tcp, 1)
            ]
    return "\r\n".join(out)


TCP_PASSIVE_PRIORITY = tcp_candidate_priority(CandidateType.HOST, "passive")


def answer_fragment(answer_sdp: str) -> str:
    """The sdpfrag of an answer's ICE (RFC 9725 §4.3.2 response to a restart)."""
    answer = SessionDescription.parse(answer_sdp)
    ufrag, pwd = answer.ice_ufrag, answer.ice_pwd
    lines = ["a=ice-lite"] if answer.ice_lite else []
    for media in answer.media:
        ufrag = ufrag or media.ice_ufrag
        pwd = pwd or media.ice_pwd
    lines += [f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}"]
    group = answer.attribute("group")
    if group is not None:
        lines.append(f"a={group}")
    for media in answer.media:
        if media.rejected:
            continue
        lines.append(f"m={media.media_line()}")
        if media.mid is not None:
            lines.append(f"a=mid:{media.mid}")
        lines += [f"a=candidate:{c}" for c in media.attribute_values("candidate")]
        lines.append("a=end-of-candidates")
    return "\r\n".join(lines) + "\r\n"


def _rtp_counts(pc: RTCPeerConnection) -> tuple[int, int, int, int]:
    """RTP packets (received, sent, of which video received, video sent) of a peer
    connection."""
    received = sent = video_received = video_sent = 0
    for transceiver in pc.getTransceivers():
        audio = transceiver.session
        if audio is not None:
            received += sum(s.packets_received for s in audio.reporter.sources.values())
            if audio.sender is not None:
                sent += audio.sender.packet_count
        link = transceiver.video
        if link is not None:
            video = link.session
            video_received += sum(s.packets_received for s in video.reporter.sources.values())
            if video.sender is not None:
                video_sent += video.sender.packet_count
    return received + video_received, sent + video_sent, video_received, video_sent


def _dtls_closed(pc: RTCPeerConnection) -> bool:
    # W3C has RTCDtlsTransport.state for this; pywebrtc keeps it on the peer session.
    session = pc._session
    return session is not None and session.dtls_state == "closed"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
