"""One audio m-section in offer/answer (RFC 3264 §5-6, RFC 8829 §5.2.1/§5.3.1, RFC 7587).

:func:`write_audio` renders our section (offer or answer), :func:`read_audio` summarises a
remote one into :class:`RemoteAudio`, and :func:`negotiate_audio` intersects the two into the
:class:`NegotiatedAudio` an :class:`~pywebrtc.media.AudioSession` is configured from.

Codecs we take: Opus/48000/2, PCMU/8000, PCMA/8000, telephone-event (RFC 4733). Payload types,
extension ids (RFC 8285) and rtcp-fb follow the offer: an answer keeps the offerer's numbers.
Our offers use Chrome's numbers (111 Opus, 110/126 telephone-event at 48/8 kHz, so that one
matches the audio clock whichever codec wins; extmap 1 audio level,
2 abs-send-time, 3 transport-wide-cc, 4 mid). rtcp-mux (RFC 5761) and rtcp-rsize (RFC 5506)
are always written; offers without rtcp-mux are still answered (we mux regardless).

Codec preferences (W3C ``setCodecPreferences``, RFC 8829 §5.2.1/§5.3.1): an offer lists only
the preferred codecs, in that order; an answer keeps the offered codecs that are preferred,
in the preference order, with the offerer's payload types.

Left out: comfort noise (CN) and RED are not offered or accepted, ``a=ptime``/``maxptime``
are not written (20 ms is what we send), ``a=ssrc-group``, and header-extension directions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pywebrtc.media.codec import AudioCodec
from pywebrtc.rtp.extensions import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    SDES_MID_URI,
    TRANSPORT_WIDE_CC_URI,
)
from pywebrtc.rtp.sender import ExtensionIds
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
)

RTP_PROTOS = ("UDP/TLS/RTP/SAVPF", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "RTP/SAVP")

# What we offer, in preference order (RFC 7587 §7 for Opus's rtpmap and fmtp).
OFFER_CODECS: tuple[AudioCodec, ...] = (
    AudioCodec("opus", 111, 48000, 2, {"minptime": "10", "useinbandfec": "1"}),
    AudioCodec("PCMU", 0, 8000),
    AudioCodec("PCMA", 8, 8000),
    AudioCodec("telephone-event", 110, 48000, 1, {"0-15": ""}),
    AudioCodec("telephone-event", 126, 8000, 1, {"0-15": ""}),
)
OFFER_EXTENSIONS: tuple[tuple[int, str], ...] = (
    (1, AUDIO_LEVEL_URI),
    (2, ABS_SEND_TIME_URI),
    (3, TRANSPORT_WIDE_CC_URI),
    (4, SDES_MID_URI),
)
class _HasExtensions(Protocol):
    @property
    def extensions(self) -> tuple[tuple[int, str], ...]: ...


_SUPPORTED = frozenset({"opus", "pcmu", "pcma", "telephone-event"})
_SUPPORTED_URIS = frozenset(uri for _, uri in OFFER_EXTENSIONS)


def offer_extensions(
    negotiated: _HasExtensions | None,
    defaults: tuple[tuple[int, str], ...] = OFFER_EXTENSIONS,
) -> tuple[tuple[int, str], ...]:
    """Our offer's extmaps. A subsequent offer keeps the ids the last exchange settled (RFC
    8285 §6, JSEP §5.2.2: Firefox refuses a remapping); our other extensions (``defaults``)
    take their default ids, or the lowest free ones."""
    if negotiated is None:
        return defaults
    kept = {uri: ext_id for ext_id, uri in negotiated.extensions}
    taken = set(kept.values())
    chosen: list[tuple[int, str]] = []
    for ext_id, uri in defaults:
        if uri in kept:
            chosen.append((kept[uri], uri))
            continue
        if ext_id in taken:
            ext_id = next(i for i in range(1, 15) if i not in taken)  # one-byte ids 1-14
        taken.add(ext_id)
        chosen.append((ext_id, uri))
    return tuple(sorted(chosen))


def same_codec(a: AudioCodec, b: AudioCodec) -> bool:
    """The same format whatever its payload type and fmtp (name, clock rate, channels)."""
    return a.key == b.key and a.clock_rate == b.clock_rate and (
        a.key != "opus" or a.channels == b.channels
    )


def _supported(codec: AudioCodec) -> bool:
    key = codec.key
    if key == "opus":
        return codec.clock_rate == 48000 and codec.channels == 2
    if key in ("pcmu", "pcma"):
        return codec.clock_rate == 8000
    return key in _SUPPORTED


@dataclass(frozen=True, slots=True)
class LocalAudio:
    """Our side of one audio section: what a transceiver wants to say."""

    mid: str
    direction: Direction
    ssrc: int
    cname: str
    stream_id: str
    track_id: str
    stopped: bool = False
    # Answer: the negotiated codecs/extensions/feedback; offer: None (our defaults).
    negotiated: NegotiatedAudio | None = None
    # Offer: the codecs, in order (the transceiver's codec preferences), and the extmaps.
    codecs: tuple[AudioCodec, ...] = OFFER_CODECS
    extensions: tuple[tuple[int, str], ...] = OFFER_EXTENSIONS


@dataclass(slots=True)
class RemoteAudio:
    """A remote audio section as far as we use it."""

    direction: Direction
    codecs: list[AudioCodec]
    extensions: dict[str, int] = field(default_factory=dict)  # uri -> id
    nack: set[int] = field(default_factory=set)  # payload types with rtcp-fb nack
    transport_cc: set[int] = field(default_factory=set)  # ... with rtcp-fb transport-cc
    ssrc: int | None = None
    cname: str | None = None
    msid: tuple[str, str | None] | None = None
    rtcp_mux: bool = True


@dataclass(frozen=True, slots=True)
class NegotiatedAudio:
    """The outcome for one section: what we send and accept."""

    codecs: tuple[AudioCodec, ...]  # common codecs with the remote's numbers and fmtp
    extensions: tuple[tuple[int, str], ...]  # common extensions with the offerer's ids
    nack: bool
    transport_cc: bool
    direction: Direction  # ours
    remote_ssrc: int | None

    @property
    def send_codec(self) -> AudioCodec | None:
        return next((c for c in self.codecs if c.key != "telephone-event"), None)

    @property
    def dtmf_codec(self) -> AudioCodec | None:
        """The telephone-event we send DTMF with: the one at the send codec's clock rate, else
        the lowest rate (libwebrtc's choice); None when the peer took none."""
        events = [c for c in self.codecs if c.key == "telephone-event"]
        send = self.send_codec
        if not events or send is None:
            return None
        same = [c for c in events if c.clock_rate == send.clock_rate]
        return same[0] if same else min(events, key=lambda c: c.clock_rate)

    @property
    def extension_ids(self) -> ExtensionIds:
        by_uri = {uri: ext_id for ext_id, uri in self.extensions}
        return ExtensionIds(
            mid=by_uri.get(SDES_MID_URI),
            audio_level=by_uri.get(AUDIO_LEVEL_URI),
            abs_send_time=by_uri.get(ABS_SEND_TIME_URI),
            transport_cc=by_uri.get(TRANSPORT_WIDE_CC_URI) if self.transport_cc else None,
        )


def intersect_direction(wanted: Direction, offered: Direction) -> Direction:
    """Our answer's direction: what we want, limited by the mirror of the offer (§6.1)."""
    mirror = offered.reverse()
    send = wanted in (Direction.SENDRECV, Direction.SENDONLY) and mirror in (
        Direction.SENDRECV,
        Direction.SENDONLY,
    )
    recv = wanted in (Direction.SENDRECV, Direction.RECVONLY) and mirror in (
        Direction.SENDRECV,
        Direction.RECVONLY,
    )
    return make_direction(send, recv)


def make_direction(send: bool, recv: bool) -> Direction:
    if send and recv:
        return Direction.SENDRECV
    if send:
        return Direction.SENDONLY
    if recv:
        return Direction.RECVONLY
    return Direction.INACTIVE


def read_audio(media: MediaDescription) -> RemoteAudio | None:
    """Summarise a remote audio section; None if it is not usable (proto, no codecs)."""
    if media.proto.upper() not in RTP_PROTOS:
        return None
    codecs: list[AudioCodec] = []
    for pt in media.payload_types:
        rtpmap = media.rtpmap(pt)
        if rtpmap is None:
            # RFC 3551 static payload types need no rtpmap.
            if pt == 0:
                rtpmap = Rtpmap(0, "PCMU", 8000)
            elif pt == 8:
                rtpmap = Rtpmap(8, "PCMA", 8000)
            else:
                continue
        fmtp = media.fmtp(pt)
        params = {k: (v or "") for k, v in fmtp.parameters} if fmtp is not None else {}
        codecs.append(
            AudioCodec.from_sdp_values(
                pt, rtpmap.encoding_name, rtpmap.clock_rate, rtpmap.channels, params
            )
        )
    remote = RemoteAudio(media.direction or Direction.SENDRECV, codecs)
    for ext in media.extmaps:
        remote.extensions.setdefault(ext.uri, ext.id)
    for fb in media.rtcp_feedback:
        pts = media.payload_types if fb.payload_type is None else [fb.payload_type]
        if fb.type == "nack" and fb.subtype is None:
            remote.nack.update(pts)
        elif fb.type == "transport-cc":
            remote.transport_cc.update(pts)
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


def negotiate_audio(
    wanted: Direction,
    remote: RemoteAudio,
    *,
    we_offered: bool,
    our_extensions: Sequence[tuple[int, str]] = OFFER_EXTENSIONS,
    preferences: Sequence[AudioCodec] = (),
) -> NegotiatedAudio | None:
    """Intersect ``remote`` with what we support; None when no audio codec is in common.

    When we answer, ``wanted`` is the transceiver's direction and the result mirrors the
    offer; when the remote answered our offer, its direction decides ours. ``preferences``
    (codec preferences, empty for none) limit the codecs to those and, in an answer, order
    them so."""
    offered = tuple(preferences) or OFFER_CODECS
    codecs: list[AudioCodec] = []
    for codec in remote.codecs:
        if not _supported(codec):
            continue
        if (we_offered or preferences) and not any(same_codec(c, codec) for c in offered):
            continue
        codecs.append(codec)
    if preferences and not we_offered:
        codecs.sort(key=lambda c: next(i for i, p in enumerate(offered) if same_codec(p, c)))
    if not any(c.key != "telephone-event" for c in codecs):
        return None
    ours = {uri for _, uri in our_extensions}
    extensions = tuple(
        (ext_id, uri)
        for uri, ext_id in remote.extensions.items()
        if uri in _SUPPORTED_URIS and uri in ours
    )
    audio = next(c for c in codecs if c.key != "telephone-event")
    direction = intersect_direction(wanted, remote.direction)
    return NegotiatedAudio(
        tuple(codecs),
        extensions,
        nack=audio.payload_type in remote.nack,
        transport_cc=audio.payload_type in remote.transport_cc,
        direction=direction,
        remote_ssrc=remote.ssrc,
    )


def write_audio(local: LocalAudio, proto: str = "UDP/TLS/RTP/SAVPF") -> MediaDescription:
    """Our audio section without transport attributes (the caller adds ICE/DTLS ones).

    A stopped transceiver's section has port 0 and no attributes but its mid."""
    negotiated = local.negotiated
    codecs = negotiated.codecs if negotiated is not None else local.codecs
    if local.stopped:
        media = MediaDescription("audio", 0, proto, [str(c.payload_type) for c in codecs])
        media.connections.append(Connection())
        media.mid = local.mid
        return media
    extensions = negotiated.extensions if negotiated is not None else local.extensions
    nack = negotiated.nack if negotiated is not None else True
    transport_cc = negotiated.transport_cc if negotiated is not None else True
    media = MediaDescription("audio", 9, proto, [str(c.payload_type) for c in codecs])
    media.connections.append(Connection())
    media.mid = local.mid
    for ext_id, uri in extensions:
        media.add(Extmap(ext_id, uri))
    media.direction = local.direction
    media.add(Msid(local.stream_id, local.track_id))
    media.rtcp_mux = True
    media.rtcp_rsize = True
    for codec in codecs:
        channels = codec.channels if codec.key == "opus" else None
        media.add(Rtpmap(codec.payload_type, codec.name, codec.clock_rate, channels))
        if codec.key == "opus":
            if transport_cc:
                media.add(RtcpFb(codec.payload_type, "transport-cc"))
            if nack:
                media.add(RtcpFb(codec.payload_type, "nack"))
            # What we accept; in an answer, our receive preferences, not an echo (RFC 7587 §7).
            media.add(Fmtp.from_mapping(codec.payload_type, {"minptime": 10, "useinbandfec": 1}))
        elif codec.key == "telephone-event":
            media.add(Fmtp.from_mapping(codec.payload_type, {"0-15": None}))
    if local.direction in (Direction.SENDRECV, Direction.SENDONLY):
        media.add(Ssrc(local.ssrc, "cname", local.cname))
        media.add(Ssrc(local.ssrc, "msid", f"{local.stream_id} {local.track_id}"))
    return media


__all__ = [
    "OFFER_CODECS",
    "OFFER_EXTENSIONS",
    "offer_extensions",
    "RTP_PROTOS",
    "LocalAudio",
    "NegotiatedAudio",
    "RemoteAudio",
    "intersect_direction",
    "make_direction",
    "negotiate_audio",
    "read_audio",
    "same_codec",
    "write_audio",
]
