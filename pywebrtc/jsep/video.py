"""One video m-section in offer/answer (RFC 3264 §5-6, RFC 8829 §5.2.1/§5.3.1), beside
:mod:`pywebrtc.jsep.audio` and shaped like it.

:func:`write_video` renders our section (offer or answer), :func:`read_video` summarises a
remote one into :class:`RemoteVideo`, and :func:`negotiate_video` intersects the two into the
:class:`NegotiatedVideo` a :class:`~pywebrtc.media.video.session.VideoSession` is configured
from.

Codecs we take: VP8 (RFC 7741), VP9 profile 0 (RFC 9628), H.264 packetization-mode 1 with a
Constrained Baseline or Baseline profile (RFC 6184; the answer's ``profile-level-id`` and level
follow §8.2.2 through :mod:`pywebrtc.rtp.video.h264_profile`), and AV1 profile 0 (receive: we
never send it), each with its RFC 4588 ``rtx`` type (``apt=``). Our offers use Chrome's payload
type numbers (96/97 VP8, 98/99 VP9, 102/103 and 108/109 H.264, 45/46 AV1) and rtcp-fb ``nack``,
``nack pli``, ``ccm fir``, ``goog-remb``, ``transport-cc`` (RFC 4585, RFC 5104); extensions
abs-send-time, transport-wide-cc and mid with the ids the audio sections use (one BUNDLE
transport, one id space). An answer keeps the offerer's numbers, and its rtcp-fb is what both
sides have. Our sender's RTX stream is announced with ``a=ssrc-group:FID`` (RFC 5576 §4.2,
RFC 4588 §8.2); a remote FID group gives the remote RTX SSRC.

Left out: RED and ulpfec (never offered or accepted), VP9 profiles other than 0, H.264
packetization-mode 0 and High profiles, simulcast (``a=rid``/``a=simulcast``), ``a=imageattr``,
``max-fs``/``max-fr`` (read by nobody), codec preferences for video.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pywebrtc.jsep.audio import RTP_PROTOS, intersect_direction, offer_extensions
from pywebrtc.media.video import VideoCodec
from pywebrtc.rtp.extensions import ABS_SEND_TIME_URI, SDES_MID_URI, TRANSPORT_WIDE_CC_URI
from pywebrtc.rtp.video.h264_profile import (
    H264FmtpError,
    answer_parameters,
    is_same_h264_format,
)
from pywebrtc.sdp import (
    Connection,
    Direction,
    Extmap,
    Fmtp,
    MediaDescription,
    Msid,
    RtcpFb,
    Rtpmap,
    Ssrc,
    SsrcGroup,
)

VIDEO_CLOCK_RATE = 90000  # every video payload format's RTP clock (RFC 3551 §5)

_H264_CB = {"level-asymmetry-allowed": "1", "packetization-mode": "1", "profile-level-id": "42e01f"}
_H264_B = {"level-asymmetry-allowed": "1", "packetization-mode": "1", "profile-level-id": "42001f"}

# What we offer, in preference order, with Chrome's numbers.
OFFER_CODECS: tuple[VideoCodec, ...] = (
    VideoCodec("VP8", 96, {}, 97),
    VideoCodec("VP9", 98, {"profile-id": "0"}, 99),
    VideoCodec("H264", 102, _H264_B, 103),
    VideoCodec("H264", 108, _H264_CB, 109),
    VideoCodec("AV1", 45, {"level-idx": "5", "profile": "0", "tier": "0"}, 46),
)
# Formats we encode (AV1 is received only).
SEND_KEYS = frozenset({"vp8", "vp9", "h264"})
OFFER_EXTENSIONS: tuple[tuple[int, str], ...] = (
    (2, ABS_SEND_TIME_URI),
    (3, TRANSPORT_WIDE_CC_URI),
    (4, SDES_MID_URI),
)
_SUPPORTED_URIS = frozenset(uri for _, uri in OFFER_EXTENSIONS)
# rtcp-fb we offer for every codec, as (type, subtype).
FEEDBACK: tuple[tuple[str, str | None], ...] = (
    ("goog-remb", None),
    ("transport-cc", None),
    ("ccm", "fir"),
    ("nack", None),
    ("nack", "pli"),
)


def video_offer_extensions(negotiated: NegotiatedVideo | None) -> tuple[tuple[int, str], ...]:
    """Our offer's extmaps: the ids the last exchange settled, ours for the rest (RFC 8285
    §6, as :func:`pywebrtc.jsep.audio.offer_extensions`)."""
    return offer_extensions(negotiated, OFFER_EXTENSIONS)


def same_video_codec(a: VideoCodec, b: VideoCodec) -> bool:
    """The same format whatever its payload type: name, and for H.264 profile and
    packetization mode (RFC 6184 §8.2.2), for VP9 and AV1 the profile."""
    if a.key != b.key:
        return False
    if a.key == "h264":
        return is_same_h264_format(a.parameters, b.parameters)
    if a.key == "vp9":
        return a.parameters.get("profile-id", "0") == b.parameters.get("profile-id", "0")
    if a.key == "av1":
        return a.parameters.get("profile", "0") == b.parameters.get("profile", "0")
    return True


def _ours(codec: VideoCodec, offered: Sequence[VideoCodec]) -> VideoCodec | None:
    """The codec of ``offered`` (ours) that ``codec`` matches, if any."""
    return next((c for c in offered if same_video_codec(c, codec)), None)


@dataclass(frozen=True, slots=True)
class LocalVideo:
    """Our side of one video section: what a transceiver wants to say."""

    mid: str
    direction: Direction
    ssrc: int
    rtx_ssrc: int
    cname: str
    stream_id: str
    track_id: str
    stopped: bool = False
    # Answer: the negotiated codecs/extensions/feedback; offer: None (our defaults).
    negotiated: NegotiatedVideo | None = None
    codecs: tuple[VideoCodec, ...] = OFFER_CODECS
    extensions: tuple[tuple[int, str], ...] = OFFER_EXTENSIONS


@dataclass(slots=True)
class RemoteVideo:
    """A remote video section as far as we use it; ``feedback`` maps a payload type to its
    rtcp-fb as (type, subtype) pairs."""

    direction: Direction
    codecs: list[VideoCodec]
    extensions: dict[str, int] = field(default_factory=dict)  # uri -> id
    feedback: dict[int, set[tuple[str, str | None]]] = field(default_factory=dict)
    ssrc: int | None = None
    rtx_ssrc: int | None = None
    cname: str | None = None
    msid: tuple[str, str | None] | None = None
    rtcp_mux: bool = True


@dataclass(frozen=True, slots=True)
class NegotiatedVideo:
    """The outcome for one video section: the common codecs (the remote's payload types, the
    answer's fmtp) and which feedback both sides have."""

    codecs: tuple[VideoCodec, ...]
    extensions: tuple[tuple[int, str], ...]  # with the offerer's ids
    nack: bool
    pli: bool
    fir: bool
    remb: bool
    transport_cc: bool
    direction: Direction  # ours
    remote_ssrc: int | None
    remote_rtx_ssrc: int | None = None

    @property
    def send_codec(self) -> VideoCodec | None:
        """The first common codec we can encode (the answerer's first choice, RFC 3264 §6.1)."""
        return next((c for c in self.codecs if c.key in SEND_KEYS), None)

    @property
    def receive_codecs(self) -> dict[int, VideoCodec]:
        return {c.payload_type: c for c in self.codecs}

    def extension_id(self, uri: str) -> int | None:
        return next((ext_id for ext_id, u in self.extensions if u == uri), None)


def read_video(media: MediaDescription) -> RemoteVideo | None:
    """Summarise a remote video section; None if it is not usable (proto)."""
    if media.proto.upper() not in RTP_PROTOS:
        return None
    codecs: list[VideoCodec] = []
    rtx: dict[int, int] = {}  # apt -> rtx pt
    for pt in media.payload_types:
        rtpmap = media.rtpmap(pt)
        if rtpmap is None:
            continue  # no static video payload types in WebRTC
        fmtp = media.fmtp(pt)
        params = {k: (v or "") for k, v in fmtp.parameters} if fmtp is not None else {}
        if rtpmap.encoding_name.lower() == "rtx":
            apt = params.get("apt", "")
            if apt.isdigit():
                rtx.setdefault(int(apt), pt)
            continue
        codecs.append(VideoCodec(rtpmap.encoding_name, pt, params))
    codecs = [
        VideoCodec(c.name, c.payload_type, c.parameters, rtx.get(c.payload_type)) for c in codecs
    ]
    remote = RemoteVideo(media.direction or Direction.SENDRECV, codecs)
    for ext in media.extmaps:
        remote.extensions.setdefault(ext.uri, ext.id)
    for fb in media.rtcp_feedback:
        pts = media.payload_types if fb.payload_type is None else [fb.payload_type]
        for pt in pts:
            remote.feedback.setdefault(pt, set()).add((fb.type.lower(), fb.subtype))
    fid = next((g for g in media.ssrc_groups if g.semantics == "FID" and len(g.ssrcs) >= 2), None)
    if fid is not None:
        remote.ssrc, remote.rtx_ssrc = fid.ssrcs[0], fid.ssrcs[1]
    for ssrc in media.ssrcs:
        if remote.ssrc is None:
            remote.ssrc = ssrc.ssrc
        if ssrc.ssrc == remote.ssrc and ssrc.attribute == "cname":
            remote.cname = ssrc.value
    msids = media.msids
    if msids:
        remote.msid = (msids[0].stream_id, msids[0].track_id)
    remote.rtcp_mux = media.rtcp_mux
    return remote


def _answer_codec(ours: VideoCodec, offered: VideoCodec) -> VideoCodec:
    """The offered codec as our answer states it: the offerer's numbers, our fmtp (for H.264
    the RFC 6184 §8.2.2 answer; VP8/VP9/AV1 echo the offer's parameters as browsers do)."""
    params: Mapping[str, str] = offered.parameters
    if ours.key == "h264":
        params = answer_parameters(ours.parameters, offered.parameters)
    return VideoCodec(offered.name, offered.payload_type, dict(params), offered.rtx_payload_type)


def negotiate_video(
    wanted: Direction,
    remote: RemoteVideo,
    *,
    we_offered: bool,
    our_extensions: Sequence[tuple[int, str]] = OFFER_EXTENSIONS,
    preferences: Sequence[VideoCodec] = (),
) -> NegotiatedVideo | None:
    """Intersect ``remote`` with what we support; None when no video codec is in common.

    When we answer, ``wanted`` is the transceiver's direction and the result mirrors the
    offer; when the remote answered our offer, its direction decides ours. Codecs keep the
    remote's order (an offerer's preference, or an answerer's choice), except that codec
    preferences (W3C ``setCodecPreferences``, empty for none) limit them and order an
    answer."""
    offered = tuple(preferences) or OFFER_CODECS
    codecs: list[VideoCodec] = []
    for codec in remote.codecs:
        ours = _ours(codec, offered)
        if ours is None:
            continue
        if we_offered:
            codecs.append(codec)  # the answer's own fmtp is what it receives
            continue
        try:
            codecs.append(_answer_codec(ours, codec))
        except H264FmtpError:
            continue
    if preferences and not we_offered:
        codecs.sort(key=lambda c: next(i for i, p in enumerate(offered) if same_video_codec(p, c)))
    if not codecs:
        return None
    ours_uris = {uri for _, uri in our_extensions}
    extensions = tuple(
        (ext_id, uri)
        for uri, ext_id in remote.extensions.items()
        if uri in _SUPPORTED_URIS and uri in ours_uris
    )
    first = next((c for c in codecs if c.key in SEND_KEYS), codecs[0])
    fb = remote.feedback.get(first.payload_type, set())
    return NegotiatedVideo(
        tuple(codecs),
        extensions,
        nack=("nack", None) in fb,
        pli=("nack", "pli") in fb,
        fir=("ccm", "fir") in fb,
        remb=("goog-remb", None) in fb,
        transport_cc=("transport-cc", None) in fb,
        direction=intersect_direction(wanted, remote.direction),
        remote_ssrc=remote.ssrc,
        remote_rtx_ssrc=remote.rtx_ssrc,
    )


def _feedback(negotiated: NegotiatedVideo | None) -> list[tuple[str, str | None]]:
    if negotiated is None:
        return list(FEEDBACK)
    have = {
        ("goog-remb", None): negotiated.remb,
        ("transport-cc", None): negotiated.transport_cc,
        ("ccm", "fir"): negotiated.fir,
        ("nack", None): negotiated.nack,
        ("nack", "pli"): negotiated.pli,
    }
    return [fb for fb in FEEDBACK if have[fb]]


def write_video(local: LocalVideo, proto: str = "UDP/TLS/RTP/SAVPF") -> MediaDescription:
    """Our video section without transport attributes (the caller adds ICE/DTLS ones).

    A stopped transceiver's section has port 0 and no attributes but its mid."""
    negotiated = local.negotiated
    codecs = negotiated.codecs if negotiated is not None else local.codecs
    formats: list[str] = []
    for codec in codecs:
        formats.append(str(codec.payload_type))
        if codec.rtx_payload_type is not None:
            formats.append(str(codec.rtx_payload_type))
    if local.stopped:
        media = MediaDescription("video", 0, proto, formats or ["0"])
        media.connections.append(Connection())
        media.mid = local.mid
        return media
    extensions = negotiated.extensions if negotiated is not None else local.extensions
    media = MediaDescription("video", 9, proto, formats)
    media.connections.append(Connection())
    media.mid = local.mid
    for ext_id, uri in extensions:
        media.add(Extmap(ext_id, uri))
    media.direction = local.direction
    media.add(Msid(local.stream_id, local.track_id))
    media.rtcp_mux = True
    media.rtcp_rsize = True
    feedback = _feedback(negotiated)
    for codec in codecs:
        pt = codec.payload_type
        media.add(Rtpmap(pt, codec.name, VIDEO_CLOCK_RATE))
        for fb_type, subtype in feedback:
            media.add(RtcpFb(pt, fb_type, subtype))
        if codec.parameters:
            media.add(Fmtp.from_mapping(pt, dict(codec.parameters)))
        if codec.rtx_payload_type is not None:
            media.add(Rtpmap(codec.rtx_payload_type, "rtx", VIDEO_CLOCK_RATE))
            media.add(Fmtp.from_mapping(codec.rtx_payload_type, {"apt": pt}))
    if local.direction in (Direction.SENDRECV, Direction.SENDONLY):
        msid = f"{local.stream_id} {local.track_id}"
        rtx = any(c.rtx_payload_type is not None for c in codecs)
        if rtx:
            media.add(SsrcGroup("FID", (local.ssrc, local.rtx_ssrc)))
        for ssrc in (local.ssrc, local.rtx_ssrc) if rtx else (local.ssrc,):
            media.add(Ssrc(ssrc, "cname", local.cname))
            media.add(Ssrc(ssrc, "msid", msid))
    return media


__all__ = [
    "FEEDBACK",
    "OFFER_CODECS",
    "OFFER_EXTENSIONS",
    "SEND_KEYS",
    "LocalVideo",
    "NegotiatedVideo",
    "RemoteVideo",
    "negotiate_video",
    "read_video",
    "same_video_codec",
    "video_offer_extensions",
    "write_video",
]
