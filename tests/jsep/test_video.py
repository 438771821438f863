"""Video offer/answer (pywebrtc.jsep.video) against the video sections Chromium and Firefox
really offer (tests/fixtures/sdp), and against our own offer."""

from __future__ import annotations

from pathlib import Path

from pywebrtc.jsep.video import (
    OFFER_CODECS,
    LocalVideo,
    RemoteVideo,
    negotiate_video,
    read_video,
    same_video_codec,
    write_video,
)
from pywebrtc.media.video import VideoCodec
from pywebrtc.rtp.extensions import ABS_SEND_TIME_URI, SDES_MID_URI, TRANSPORT_WIDE_CC_URI
from pywebrtc.sdp import Direction, MediaDescription, SessionDescription

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sdp"
ALL_FEEDBACK = {("goog-remb", None), ("transport-cc", None), ("ccm", "fir"), ("nack", None),
                ("nack", "pli")}  # fmt: skip


def video_section(name: str) -> MediaDescription:
    session = SessionDescription.parse((FIXTURES / name).read_text())
    return next(m for m in session.media if m.media == "video")


def remote(name: str) -> RemoteVideo:
    section = read_video(video_section(name))
    assert section is not None
    return section


def local(negotiated: object = None, direction: Direction = Direction.SENDRECV) -> LocalVideo:
    return LocalVideo(
        "1", direction, 1111, 2222, "cname", "stream", "track",
        negotiated=negotiated,  # type: ignore[arg-type]
    )  # fmt: skip


def test_chromes_offer_is_read_with_its_rtx_types_feedback_and_fid_group() -> None:
    offer = remote("chrome-offer-audio-video-data.sdp")
    assert offer.direction is Direction.SENDRECV
    by_pt = {c.payload_type: c for c in offer.codecs}
    assert by_pt[96].name == "VP8" and by_pt[96].rtx_payload_type == 97
    assert by_pt[45].name == "AV1" and by_pt[45].rtx_payload_type == 46
    assert by_pt[102].parameters["profile-level-id"] == "42001f"
    assert by_pt[120].name == "ulpfec" and by_pt[120].rtx_payload_type is None
    assert offer.feedback[96] == ALL_FEEDBACK
    assert (offer.ssrc, offer.rtx_ssrc) == (1316042324, 2849653263)
    assert offer.cname == "C5x+gVK4xd0jf3F4"
    assert offer.extensions[SDES_MID_URI] == 4


def test_the_answer_to_chrome_keeps_what_we_decode_with_chromes_numbers() -> None:
    offer = remote("chrome-offer-audio-video-data.sdp")
    n = negotiate_video(Direction.SENDRECV, offer, we_offered=False)
    assert n is not None
    # H.264 packetization-mode 0 (104, 114, 39), Main profile (116), VP9 profile 2 (100), RED
    # and ulpfec are not ours.
    assert [(c.name, c.payload_type, c.rtx_payload_type) for c in n.codecs] == [
        ("VP8", 96, 97), ("H264", 102, 103), ("H264", 108, 109), ("AV1", 45, 46),
        ("VP9", 98, 99),
    ]  # fmt: skip
    h264 = n.codecs[1]
    # RFC 6184 §8.2.2: our profile, the offer's level when both allow asymmetry.
    assert dict(h264.parameters) == {
        "packetization-mode": "1",
        "level-asymmetry-allowed": "1",
        "profile-level-id": "42001f",
    }
    assert n.nack and n.pli and n.fir and n.remb and n.transport_cc
    assert n.send_codec is not None and n.send_codec.name == "VP8"
    assert (n.remote_ssrc, n.remote_rtx_ssrc) == (1316042324, 2849653263)
    assert dict(n.extensions) == {2: ABS_SEND_TIME_URI, 3: TRANSPORT_WIDE_CC_URI, 4: SDES_MID_URI}
    media = write_video(local(n))
    assert media.payload_types == [96, 97, 102, 103, 108, 109, 45, 46, 98, 99]
    fmtp = media.fmtp(97)
    assert fmtp is not None and fmtp.get("apt") == "96"
    assert {(f.type, f.subtype) for f in media.feedback_for(102)} == ALL_FEEDBACK
    (group,) = media.ssrc_groups
    assert (group.semantics, group.ssrcs) == ("FID", (1111, 2222))
    assert {s.ssrc for s in media.ssrcs} == {1111, 2222}


def test_the_answer_to_firefox_echoes_its_vp8_fmtp_and_keeps_its_extension_ids() -> None:
    offer = remote("firefox-offer-audio-video-data.sdp")
    assert (offer.ssrc, offer.rtx_ssrc) == (1658238918, 4284988542)
    n = negotiate_video(Direction.RECVONLY, offer, we_offered=False)
    assert n is not None and n.direction is Direction.RECVONLY
    assert [(c.name, c.payload_type, c.rtx_payload_type) for c in n.codecs] == [
        ("VP8", 120, 124), ("VP9", 121, 125), ("AV1", 99, 100),
    ]  # fmt: skip
    assert dict(n.codecs[0].parameters) == {"max-fs": "12288", "max-fr": "60"}
    assert dict(n.extensions) == {3: SDES_MID_URI, 4: ABS_SEND_TIME_URI, 7: TRANSPORT_WIDE_CC_URI}
    media = write_video(local(n, Direction.RECVONLY))
    assert media.direction is Direction.RECVONLY
    assert not media.ssrcs and not media.ssrc_groups  # nothing sent: no SSRC to announce


def test_our_offer_lists_every_codec_with_rtx_feedback_and_the_fid_group() -> None:
    media = write_video(local())
    assert media.payload_types == [96, 97, 98, 99, 102, 103, 108, 109, 45, 46]
    names = [media.rtpmap(pt).encoding_name for pt in media.payload_types]  # type: ignore[union-attr]
    assert names == ["VP8", "rtx", "VP9", "rtx", "H264", "rtx", "H264", "rtx", "AV1", "rtx"]
    for codec in OFFER_CODECS:
        assert {(f.type, f.subtype) for f in media.feedback_for(codec.payload_type)} == (
            ALL_FEEDBACK
        )
    # Read back as a remote would: the same codecs, and the answer to it picks VP8.
    mirrored = read_video(media)
    assert mirrored is not None
    assert mirrored.codecs == list(OFFER_CODECS)
    assert (mirrored.ssrc, mirrored.rtx_ssrc) == (1111, 2222)
    n = negotiate_video(Direction.SENDRECV, mirrored, we_offered=True)
    assert n is not None and n.send_codec == OFFER_CODECS[0]


def test_an_answer_with_only_h264_main_or_vp9_profile_2_has_nothing_in_common() -> None:
    for codec in (
        VideoCodec("H264", 100, {"packetization-mode": "1", "profile-level-id": "4d001f"}),
        VideoCodec("H264", 100, {"packetization-mode": "0", "profile-level-id": "42e01f"}),
        VideoCodec("VP9", 100, {"profile-id": "2"}),
        VideoCodec("H265", 100, {}),
    ):
        offer = RemoteVideo(Direction.SENDRECV, [codec])
        assert negotiate_video(Direction.SENDRECV, offer, we_offered=False) is None


def test_only_av1_in_common_receives_but_has_no_send_codec() -> None:
    offer = RemoteVideo(Direction.SENDRECV, [VideoCodec("AV1", 35, {"profile": "0"}, 36)])
    n = negotiate_video(Direction.SENDRECV, offer, we_offered=False)
    assert n is not None and n.send_codec is None
    assert n.receive_codecs == {35: VideoCodec("AV1", 35, {"profile": "0"}, 36)}


def test_h264_formats_match_on_profile_and_mode_not_level() -> None:
    ours = OFFER_CODECS[3]  # 42e01f
    level_5_2 = {"packetization-mode": "1", "profile-level-id": "42e034"}
    assert same_video_codec(ours, VideoCodec("h264", 1, level_5_2))
    assert not same_video_codec(ours, VideoCodec("H264", 1, {"profile-level-id": "42e01f"}))


def test_preferences_limit_and_order_the_answer() -> None:
    offer = remote("chrome-offer-audio-video-data.sdp")
    h264 = OFFER_CODECS[3]
    n = negotiate_video(Direction.SENDRECV, offer, we_offered=False, preferences=[h264])
    assert n is not None
    assert [(c.name, c.payload_type) for c in n.codecs] == [("H264", 108)]
