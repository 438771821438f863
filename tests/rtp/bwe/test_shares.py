"""How one transport's estimate is shared: audio first (up to its ceiling), video the rest
less its headers, split over the video senders; the frame rate rule; REMB capping it all; and
the video session's packets (RTX included) numbered for the estimator. Fake clock throughout."""

from __future__ import annotations

import pytest

from pywebrtc.media.video import EncodedVideoFrame, VideoCodec
from pywebrtc.media.video.session import VideoSession, VideoSessionConfig
from pywebrtc.rtp.bwe import BandwidthEstimator
from pywebrtc.rtp.bwe.transport import (
    MIN_FRAMERATE,
    OPUS_MIN_BITRATE,
    TransportBandwidth,
    video_framerate,
)
from pywebrtc.rtp.rtcp import Nack, Remb
from pywebrtc.rtp.sender import ExtensionIds, TransportSequence
from pywebrtc.transmit import Transmit
from tests.rtp.bwe.sim import BottleneckSim

AUDIO_HEADERS = 50 * 8 * TransportBandwidth().overhead  # bit/s of 20 ms packets' headers


def bandwidth(start: int) -> TransportBandwidth:
    return TransportBandwidth(BandwidthEstimator(start_bitrate=start))


def test_audio_takes_its_ceiling_first_and_video_the_rest_less_headers() -> None:
    shares = bandwidth(500_000).shares([32_000], 1)
    assert shares.audio > 32_000  # more than Opus takes: its ceiling applies
    left = 500_000 - 32_000 - AUDIO_HEADERS
    assert shares.video is not None
    assert 0.94 * left < shares.video < left  # full-size packets' headers are ~4 %


def test_video_senders_split_what_audio_leaves_equally() -> None:
    one = bandwidth(1_000_000).shares([32_000, 32_000], 1).video
    two = bandwidth(1_000_000).shares([32_000, 32_000], 2).video
    assert one is not None and two is not None
    assert abs(two - one / 2) <= 1
    assert bandwidth(1_000_000).shares([32_000], 0).video is None  # audio only
    alone = bandwidth(1_000_000).shares([], 1).video  # video only: all of it
    assert alone is not None and alone > 0.95 * 1_000_000


def test_a_tight_estimate_leaves_audio_its_floor_and_video_nothing() -> None:
    shares = bandwidth(25_000).shares([32_000], 1)
    assert shares.audio == OPUS_MIN_BITRATE
    assert shares.video == 0  # the encoder's own floor (50 kbit/s) applies


def test_remb_caps_every_share() -> None:
    bw = bandwidth(2_000_000)
    before = bw.shares([32_000], 1).video
    assert before is not None and before > 1_800_000
    bw.receive_rtcp([Remb(1, 300_000, (2,))], now=1.0)
    assert bw.changed() is not None  # the plane shares again on this
    after = bw.shares([32_000], 1).video
    assert after is not None and after < 300_000 - 32_000 - AUDIO_HEADERS
    bw.receive_rtcp([Remb(1, 3_000_000, (2,))], now=2.0)  # the cap lifted: back up
    lifted = bw.shares([32_000], 1).video
    assert lifted is not None and lifted > 1_800_000


@pytest.mark.parametrize(
    ("bitrate", "size", "fps"),
    [
        (1_000_000, (640, 480), 30.0),
        (380_000, (640, 480), 30.0),
        (185_000, (640, 480), 15.0),
        (100_000, (640, 480), 8.0),
        (10_000, (640, 480), MIN_FRAMERATE),
        (100_000, (320, 240), 30.0),
        (50_000, (320, 240), 16.0),
        (5_000_000, (1280, 720), 30.0),
        (1_000_000, (1280, 720), 27.0),
    ],
)
def test_the_frame_rate_falls_when_the_bits_per_pixel_would(
    bitrate: int, size: tuple[int, int], fps: float
) -> None:
    assert video_framerate(bitrate, *size, max_framerate=30.0) == fps


def test_the_frame_rate_stays_within_the_apps_ceiling() -> None:
    assert video_framerate(5_000_000, 320, 240, max_framerate=15.0) == 15.0
    assert video_framerate(1_000, 640, 480, max_framerate=3.0) == 3.0


def test_a_bottleneck_brings_the_video_share_below_the_link_and_lifting_it_raises_it() -> None:
    """The estimator on the scripted bottleneck (:mod:`tests.rtp.bwe.sim`), the shares taken
    as the media plane takes them: one Opus stream, one VGA video sender."""
    estimator = BandwidthEstimator(start_bitrate=1_000_000)
    bw = TransportBandwidth(estimator)
    sim = BottleneckSim(estimator, capacity=2_000_000)
    sim.run(10.0)
    high = bw.shares([32_000], 1).video
    assert high is not None and high > 1_000_000
    sim.set_capacity(300_000)
    sim.run(20.0)
    targets = sim.target_between(14.0, 20.0)
    assert sum(targets) / len(targets) < 330_000  # the estimate saws around the link rate
    squeezed = bw.shares([32_000], 1).video
    assert squeezed is not None and squeezed < 300_000
    assert video_framerate(squeezed, 640, 480, 30.0) < 30.0
    sim.set_capacity(2_000_000)
    sim.run(40.0)
    recovered = bw.shares([32_000], 1).video
    assert recovered is not None and recovered > 2 * squeezed


def test_video_packets_and_their_retransmissions_reach_the_estimator() -> None:
    codec = VideoCodec("VP8", 96, {}, 97)
    config = VideoSessionConfig(
        ssrc=1, cname="c", send_codec=codec, rtx_ssrc=2,
        extension_ids=ExtensionIds(transport_cc=5),
    )  # fmt: skip
    session = VideoSession(config, transport_sequence=TransportSequence(100))
    bw = TransportBandwidth()
    sent: list[bytes] = []

    def drain(now: float) -> None:
        while (out := session.poll()) is not None:
            if isinstance(out, Transmit):
                sent.append(out.data)
                bw.sent(out.data, 5, now)

    session.send_encoded(EncodedVideoFrame(b"\x10" + b"k" * 3000, 0, True, "vp8"), 0.0)
    drain(0.0)
    media = len(sent)
    assert media == 3
    first_seq = int.from_bytes(sent[0][2:4])
    session.receive_rtcp_packets([Nack.from_lost(9, 1, [first_seq])], 0.05)
    drain(0.05)
    assert len(sent) == media + 1 and int.from_bytes(sent[-1][8:12]) == 2  # on RTX
    history = bw.estimator._history
    assert [history.lookup(n) is not None for n in range(100, 104)] == [True] * 4


def test_a_peer_sending_remb_and_no_transport_feedback_sets_the_target_with_it() -> None:
    """aiortc as a receiver sends REMB only: no delay-based estimate of ours, the target is the
    loss-based rate (lifted to the REMB by clean reports, cut by lossy ones) capped by REMB."""
    bw = bandwidth(300_000)
    estimator = bw.estimator
    estimator.on_remb(1_200_000, 0.0)
    assert estimator.target_bitrate == 300_000  # no report yet: the start rate
    estimator.on_loss_report(0.0, 0.05, 1.0)  # clean: the path takes what the peer says
    assert estimator.target_bitrate == 1_200_000
    estimator.on_remb(400_000, 2.0)
    assert estimator.target_bitrate == 400_000
    estimator.on_loss_report(0.3, 0.05, 3.0)  # 30 % lost: cut below the REMB
    assert estimator.target_bitrate == int(400_000 * 0.85)
    estimator.on_remb(1_000_000, 4.0)
    estimator.on_loss_report(0.0, 0.05, 5.0)
    assert estimator.target_bitrate == 1_000_000
    video = bw.shares([], 1).video
    assert video is not None and 0.94 * 1_000_000 < video < 1_000_000
