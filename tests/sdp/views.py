"""Every typed view of a description, as calls: what a fuzz test needs to prove that lazily
parsed attributes, too, fail only with SdpParseError."""

from __future__ import annotations

from collections.abc import Callable

from pywebrtc.sdp import AttributeSection, MediaDescription, SessionDescription

View = Callable[[], object]


def _shared_views(section: AttributeSection) -> list[View]:
    return [
        lambda: section.fingerprints,
        lambda: section.setup,
        lambda: section.ice_ufrag,
        lambda: section.ice_pwd,
        lambda: section.ice_options,
        lambda: section.ice_lite,
        lambda: section.candidates,
        lambda: section.end_of_candidates,
        lambda: section.direction,
        lambda: section.extmaps,
        lambda: section.extmap_allow_mixed,
    ]


def _media_views(media: MediaDescription) -> list[View]:
    # Formats are payload types only under an RTP profile (RFC 8866 §5.14).
    rtp: list[View] = [lambda: media.payload_types] if "RTP" in media.proto else []
    return [
        *rtp,
        lambda: media.mid,
        lambda: media.rejected,
        lambda: media.rtcp,
        lambda: media.rtcp_mux,
        lambda: media.rtcp_rsize,
        lambda: media.rtcp_mux_only,
        lambda: media.rtpmaps,
        lambda: media.fmtps,
        lambda: media.rtcp_feedback,
        lambda: media.ssrcs,
        lambda: media.ssrc_groups,
        lambda: media.msids,
        lambda: media.rids,
        lambda: media.simulcast,
        lambda: media.sctp_port,
        lambda: media.max_message_size,
        lambda: media.sctpmap,
    ]


def typed_views(description: SessionDescription) -> list[View]:
    """A call per typed value reachable from ``description``; each may raise SdpParseError."""
    views: list[View] = [
        lambda: description.groups,
        lambda: description.group(),
        lambda: description.msid_semantic,
        *_shared_views(description),
    ]
    for media in description.media:
        views += _shared_views(media) + _media_views(media)
    return views
