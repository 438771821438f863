"""JSEP offer/answer for the peer connection (RFC 8829 §5.2-5.3, RFC 3264), all of it SDP.

Writes our offers and answers and reads the remote description into a
:class:`RemoteDescription` that the peer connection can apply without touching SDP again.
Everything that depends on one m-section's kind lives in :func:`answer_media` and
:func:`read_media` (and the offer's section list in :func:`build_offer`): audio sections
(:mod:`pywebrtc.jsep.audio`), video sections (:mod:`pywebrtc.jsep.video`) and
``m=application ... UDP/DTLS/SCTP webrtc-datachannel`` (RFC 8841) are negotiated, anything else
in a remote offer is rejected with port 0 (RFC 3264 §6).

Transport attributes follow BUNDLE (RFC 9143): one ICE/DTLS transport for every accepted
section, taken from the first section of the BUNDLE group (or the first accepted section).
DTLS roles follow RFC 8842 §5.3: an offer says ``actpass``, an answer ``active`` (we are the
DTLS client) unless the SettingEngine asks for ``passive``.

Left out: ICE restarts by renegotiation, rollback, pranswer, multiple transports without BUNDLE
(a non-BUNDLE offer with one data section is fine), ``a=sctpmap`` legacy framing (read, never
written).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pywebrtc.dtls import Fingerprint as DtlsFingerprint
from pywebrtc.exceptions import InvalidDescriptionError
from pywebrtc.jsep.audio import LocalAudio, RemoteAudio, read_audio, write_audio
from pywebrtc.jsep.video import LocalVideo, RemoteVideo, read_video, write_video
from pywebrtc.sdp import Candidate as SdpCandidate
from pywebrtc.sdp import (
    Connection,
    Fingerprint,
    Group,
    IceOptions,
    MediaDescription,
    MsidSemantic,
    SdpParseError,
    SessionDescription,
    Setup,
)
from pywebrtc.sdp.fields import Origin

DATA_PROTOS = ("UDP/DTLS/SCTP", "DTLS/SCTP", "TCP/DTLS/SCTP")
DEFAULT_SCTP_PORT = 5000
# RFC 8841 §6.1: without a=max-message-size the peer accepts 64 KiB.
DEFAULT_REMOTE_MAX_MESSAGE_SIZE = 65536
DescriptionType = Literal["offer", "answer", "pranswer", "rollback"]


@dataclass(frozen=True, slots=True)
class LocalTransport:
    """What our description says about the one bundled transport."""

    ice_ufrag: str
    ice_pwd: str = field(repr=False)  # a secret: not in logs
    fingerprints: tuple[DtlsFingerprint, ...]
    ice_lite: bool = False
    candidates: tuple[str, ...] = ()  # a=candidate values
    end_of_candidates: bool = False


@dataclass(frozen=True, slots=True)
class LocalData:
    """Our data section: SCTP port and the max-message-size we accept."""

    sctp_port: int = DEFAULT_SCTP_PORT
    max_message_size: int = 262144


@dataclass(slots=True)
class RemoteMedia:
    """One remote m-section as far as we need it."""

    kind: str
    mid: str
    rejected: bool
    proto: str
    formats: list[str]
    sctp_port: int | None = None
    max_message_size: int | None = None
    audio: RemoteAudio | None = None  # an audio section's codecs, extensions, direction
    video: RemoteVideo | None = None  # a video section's


@dataclass(slots=True)
class RemoteDescription:
    """A checked remote description; ``transport_*`` come from the BUNDLE transport."""

    type: Literal["offer", "answer"]
    media: list[RemoteMedia]
    ice_ufrag: str | None = None
    ice_pwd: str | None = field(default=None, repr=False)
    ice_lite: bool = False
    fingerprints: tuple[DtlsFingerprint, ...] = ()
    setup: Setup | None = None
    candidates: list[SdpCandidate] = field(default_factory=list)  # parsed once, here
    end_of_candidates: bool = False
    bundle: tuple[str, ...] = ()

    @property
    def data(self) -> RemoteMedia | None:
        """The accepted data section, if any."""
        return next((m for m in self.media if m.kind == "application" and not m.rejected), None)


def new_origin() -> Origin:
    # RFC 3264 §5: sess-id is a random number below 2^63.
    return Origin(random.getrandbits(62), 1, "-", "IN", "IP4", "0.0.0.0")


def _session(origin: Origin, mids: Sequence[str], lite: bool) -> SessionDescription:
    session = SessionDescription(origin=origin)
    if mids:
        session.add(Group("BUNDLE", tuple(mids)))
    session.add(IceOptions(("trickle",)))
    session.add(MsidSemantic("WMS", ("*",)))
    if lite:
        session.ice_lite = True
    return session


def _add_transport(media: MediaDescription, transport: LocalTransport, setup: Setup) -> None:
    # Appended, not set: every caller's section has no transport lines yet (no look-up of an
    # earlier one per line; a description is built at each createOffer, createAnswer and
    # localDescription read). The credentials were checked when drawn (Credentials).
    add = media.add_attribute
    for candidate in transport.candidates:
        add("candidate", candidate)
    if transport.end_of_candidates:
        add("end-of-candidates")
    add("ice-ufrag", transport.ice_ufrag)
    add("ice-pwd", transport.ice_pwd)
    media.add(IceOptions(("trickle",)))
    for fp in transport.fingerprints:
        media.add(Fingerprint(fp.algorithm, fp.value))
    add("setup", setup.value)


def _data_section(
    mid: str, transport: LocalTransport, setup: Setup, data: LocalData
) -> MediaDescription:
    media = MediaDescription("application", 9, "UDP/DTLS/SCTP", ["webrtc-datachannel"])
    media.connections.append(Connection())
    _add_transport(media, transport, setup)
    media.mid = mid
    media.add_attribute("sctp-port", str(data.sctp_port))
    media.add_attribute("max-message-size", str(data.max_message_size))
    return media


LocalRtp = LocalAudio | LocalVideo


def _rtp_section(
    local: LocalRtp, transport: LocalTransport, setup: Setup, proto: str = "UDP/TLS/RTP/SAVPF"
) -> MediaDescription:
    if isinstance(local, LocalVideo):
        media = write_video(local, proto)
    else:
        media = write_audio(local, proto)
    if media.port == 0:  # stopped: credentials (aiortc wants them), no candidates
        transport = dataclasses.replace(transport, candidates=(), end_of_candidates=False)
    _add_transport(media, transport, setup)
    return media


def build_offer(
    origin: Origin,
    transport: LocalTransport,
    data: LocalData | None,
    data_mid: str = "0",
    rtp: Sequence[LocalRtp] = (),
    order: Sequence[str] | None = None,
) -> SessionDescription:
    """An offer with a data section when ``data`` is given (W3C: once a channel exists) and
    one section per audio or video transceiver (``rtp``); ``order`` is the m-line order by
    mid (RFC 3264 §8: sections keep their place in a new offer), else data first."""
    sections = []
    if data is not None:
        sections.append(_data_section(data_mid, transport, Setup.ACTPASS, data))
    for local in rtp:
        sections.append(_rtp_section(local, transport, Setup.ACTPASS))
    if order is not None:
        rank = {mid: i for i, mid in enumerate(order)}
        sections.sort(key=lambda m: rank.get(m.mid or "", len(rank)))
    session = _session(origin, [m.mid or "" for m in sections if m.port != 0], transport.ice_lite)
    session.add_media(sections)
    return session


def answer_media(
    offered: RemoteMedia,
    transport: LocalTransport,
    setup: Setup,
    data: LocalData,
    rtp: LocalRtp | None = None,
) -> MediaDescription:
    """Our answer to one offered m-section: accept one data section and the audio and video
    sections a transceiver took (``rtp``), reject the rest."""
    if offered.kind == "application" and not offered.rejected:
        return _data_section(offered.mid, transport, setup, data)
    kind = "video" if isinstance(rtp, LocalVideo) else "audio"
    accept = offered.kind == kind and not offered.rejected and rtp is not None
    if accept and rtp is not None and not rtp.stopped and rtp.negotiated:
        return _rtp_section(rtp, transport, setup, offered.proto)
    # RFC 3264 §6: a rejected stream keeps its media, proto and formats with port 0.
    rejected = MediaDescription(offered.kind, 0, offered.proto, list(offered.formats) or ["0"])
    rejected.connections.append(Connection())
    # Transport attributes too, without candidates (as Chrome writes them): aiortc refuses
    # any section without ICE credentials, rejected or not.
    _add_transport(rejected, dataclasses.replace(transport, candidates=(),
                                                 end_of_candidates=False), setup)  # fmt: skip
    rejected.mid = offered.mid
    return rejected


def build_answer(
    origin: Origin,
    offer: RemoteDescription,
    transport: LocalTransport,
    setup: Setup,
    data: LocalData,
    rtp: Mapping[str, LocalRtp] | None = None,
) -> SessionDescription:
    sections: list[MediaDescription] = []
    accepted_data = offer.data
    rtp = rtp or {}
    for offered in offer.media:
        if offered.kind == "application" and offered is not accepted_data:
            offered = RemoteMedia(offered.kind, offered.mid, True, offered.proto, offered.formats)
        sections.append(answer_media(offered, transport, setup, data, rtp.get(offered.mid)))
    # RFC 9143 §7.3: an answer bundles only what the offer bundled.
    mids = [m.mid or "" for m in sections if m.port != 0 and m.mid in offer.bundle]
    session = _session(origin, mids, transport.ice_lite)
    session.add_media(sections)
    return session


def read_media(media: MediaDescription, index: int) -> RemoteMedia:
    """Check and summarise one remote m-section."""
    mid = media.mid
    if mid is None:
        mid = str(index)  # RFC 8829 §5.10: a section without a=mid (legacy) gets its index
    rejected = media.port == 0 and not media.has_attribute("bundle-only")
    entry = RemoteMedia(media.media, mid, rejected, media.proto, list(media.formats))
    if media.media == "application":
        if media.proto.upper() not in DATA_PROTOS:
            entry.rejected = True
            return entry
        port = media.sctp_port
        sctpmap = media.sctpmap
        if port is None and sctpmap is not None:
            port = sctpmap.port
        entry.sctp_port = port if port is not None else DEFAULT_SCTP_PORT
        entry.max_message_size = media.max_message_size
    elif media.media == "audio" and not entry.rejected:
        entry.audio = read_audio(media)
        if entry.audio is None:
            entry.rejected = True
    elif media.media == "video" and not entry.rejected:
        entry.video = read_video(media)
        if entry.video is None:
            entry.rejected = True
    return entry


def parse_remote(
    sdp: str,
    type_: str,
    our_offer_mids: Sequence[str] | None,
    parsed: SessionDescription | None = None,
) -> RemoteDescription:
    """Parse and check a remote description; ``InvalidDescriptionError`` says what is wrong.

    ``our_offer_mids`` is our offer's sections when ``sdp`` is the answer to it; ``parsed``,
    if given, is ``sdp`` parsed already (not parsed again)."""
    if type_ not in ("offer", "answer"):
        raise InvalidDescriptionError(f"unsupported description type {type_!r}")
    if not isinstance(sdp, str) or not sdp.strip():
        raise InvalidDescriptionError("empty session description")
    try:
        session = parsed if parsed is not None else SessionDescription.parse(sdp)
        media = [read_media(m, i) for i, m in enumerate(session.media)]
        bundle_group = session.group("BUNDLE")
        bundle = bundle_group.mids if bundle_group is not None else ()
        remote = RemoteDescription("offer" if type_ == "offer" else "answer", media, bundle=bundle)
        if not bundle and type_ == "offer":
            # Without BUNDLE each section would need its own ICE/DTLS transport: we run one,
            # so we accept the first usable section and reject the others (RFC 3264 §6).
            first = True
            for entry in media:
                if not entry.rejected and (
                    entry.kind == "application" or entry.audio or entry.video
                ):
                    entry.rejected = not first
                    first = False
        accepted = [(m, r) for m, r in zip(session.media, media, strict=True) if not r.rejected]
        if not accepted:
            return remote
        # The BUNDLE transport: the first mid of the group (RFC 9143 §7.2.1), else the first
        # accepted section.
        section = accepted[0][0]
        if bundle:
            section = next((m for m, r in accepted if r.mid == bundle[0]), section)
        remote.ice_ufrag = section.ice_ufrag or session.ice_ufrag
        remote.ice_pwd = section.ice_pwd or session.ice_pwd
        remote.ice_lite = session.ice_lite
        fingerprints = section.fingerprints or session.fingerprints
        remote.setup = section.setup or session.setup
        seen: set[SdpCandidate] = set()
        for m, _ in accepted:  # Firefox repeats the bundle's candidates in every section
            for candidate in m.candidates:
                if candidate not in seen:
                    seen.add(candidate)
                    remote.candidates.append(candidate)
        remote.end_of_candidates = section.end_of_candidates or session.end_of_candidates
    except SdpParseError as exc:
        raise InvalidDescriptionError(f"malformed SDP: {exc}") from exc
    if not remote.ice_ufrag or not remote.ice_pwd:
        raise InvalidDescriptionError("missing a=ice-ufrag or a=ice-pwd")
    if not fingerprints:
        raise InvalidDescriptionError("missing a=fingerprint (RFC 8122)")
    try:
        remote.fingerprints = tuple(
            DtlsFingerprint.parse(f"{f.algorithm} {f.value}") for f in fingerprints
        )
    except ValueError as error:  # not `exc`: mypyc gives one name one type per function
        raise InvalidDescriptionError(f"unusable a=fingerprint: {error}") from error
    if remote.type == "offer":
        if remote.setup is None:
            remote.setup = Setup.ACTPASS
        if remote.setup is Setup.HOLDCONN:
            raise InvalidDescriptionError("a=setup:holdconn is not usable for DTLS")
    else:
        if remote.setup is None:
            remote.setup = Setup.ACTIVE  # RFC 4145 §4: the default is active
        if remote.setup not in (Setup.ACTIVE, Setup.PASSIVE):
            raise InvalidDescriptionError(
                f"an answer must say active or passive, not {remote.setup}"
            )
        if our_offer_mids is not None and [m.mid for m in media] != list(our_offer_mids):
            raise InvalidDescriptionError("the answer's m-sections do not match the offer")
    return remote
