"""Read every typed view of a description: what a fuzz test needs to prove that lazily parsed
attributes, too, fail only with SdpParseError."""

from __future__ import annotations

from pywebrtc.sdp import SessionDescription


def read_typed_views(description: SessionDescription) -> list[object]:
    """Every typed value reachable from ``description``, parsed (raises SdpParseError)."""
    views: list[object] = [
        description.groups,
        description.msid_semantic,
        description.fingerprints,
        description.setup,
        description.ice_ufrag,
        description.ice_pwd,
        description.ice_options,
        description.ice_lite,
        description.candidates,
        description.direction,
        description.extmaps,
        description.extmap_allow_mixed,
    ]
    for media in description.media:
        views += [
            media.mid,
            media.candidates,
            media.end_of_candidates,
            media.fingerprints,
            media.setup,
            media.ice_ufrag,
            media.ice_pwd,
            media.ice_options,
            media.direction,
            media.rtcp,
            media.rtcp_mux,
            media.rtcp_rsize,
            media.rtcp_mux_only,
            media.rtpmaps,
            media.fmtps,
            media.rtcp_feedback,
            media.extmaps,
            media.ssrcs,
            media.ssrc_groups,
            media.msids,
            media.rids,
            media.simulcast,
            media.sctp_port,
            media.max_message_size,
            media.sctpmap,
        ]
    return views
