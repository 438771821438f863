from __future__ import annotations

from typing import TYPE_CHECKING

from pywebrtc.media import OPUS, AudioCodec
from pywebrtc.media.opus import OpusDecoder, OpusEncoder

from .tone import mono_samples, sine_frame, zero_crossing_frequency

if TYPE_CHECKING:
    from pywebrtc.media.codec import EncodedPacket
    from pywebrtc.media.libopus import LibopusEncoder


def test_tone_survives_encode_decode_mono_and_stereo() -> None:
    for channels in (1, 2):
        encoder = OpusEncoder(OPUS, channels=channels)
        decoder = OpusDecoder(OPUS, channels=channels)
        frames = []
        media_times = []
        for i in range(100):
            for packet in encoder.encode(sine_frame(i, 440.0, channels=channels)):
                media_times.append(packet.media_time)
                frame = decoder.decode(packet.payload, packet.media_time)
                assert frame is not None
                frames.append(frame)
        assert media_times[:3] == [0, 960, 1920]
        assert frames[0].sample_rate == 48000 and len(frames[0].layout.channels) == channels
        assert frames[0].samples == 960
        freq = zero_crossing_frequency(mono_samples(frames[10:]), 48000)
        assert abs(freq - 440) < 5


def test_fmtp_controls_fec_stereo_and_bitrate() -> None:
    codec = AudioCodec(
        "opus", 111, 48000, 2, {"useinbandfec": "1", "stereo": "1", "maxaveragebitrate": "20000"}
    )
    encoder = OpusEncoder(codec, bitrate=64000)
    assert encoder.fec and encoder.channels == 2 and encoder.bitrate == 20000
    plain = OpusEncoder(AudioCodec("opus", 111, 48000, 2, {"useinbandfec": "0"}))
    assert not plain.fec and plain.channels == 1


def _encode_200ms_of_44k1_stereo(encoder: OpusEncoder | LibopusEncoder) -> list[EncodedPacket]:
    import av

    frame = av.AudioFrame(format="fltp", layout="stereo", samples=441)
    for plane in frame.planes:
        plane.update(bytes(441 * 4))
    frame.sample_rate = 44100
    frame.pts = 0
    return [p for _ in range(20) for p in encoder.encode(frame)]


def test_any_input_format_is_resampled_to_20ms_packets() -> None:
    packets = _encode_200ms_of_44k1_stereo(OpusEncoder(OPUS))
    assert len(packets) >= 5  # 200 ms of input
    assert all(p.duration == 960 for p in packets)


def test_concealment_fades_then_goes_silent_and_bad_payload_is_counted() -> None:
    encoder = OpusEncoder(OPUS)
    decoder = OpusDecoder(OPUS)
    for i in range(5):
        for packet in encoder.encode(sine_frame(i)):
            decoder.decode(packet.payload, packet.media_time)
    levels = []
    for k in range(6):
        frame = decoder.conceal(10_000 + 960 * k, None)
        assert frame.samples == 960 and frame.pts == 10_000 + 960 * k
        levels.append(max(abs(s) for s in mono_samples([frame])))
    assert levels[0] > levels[1] > levels[2] > 0 and levels[-1] == 0
    assert decoder.decode(b"", 0) is None


def test_low_cpu_settings_still_carry_the_tone() -> None:
    import pytest

    encoder = OpusEncoder(OPUS, application="lowdelay", fec=False, complexity=2)
    assert not encoder.fec and encoder.complexity == 2
    decoder = OpusDecoder(OPUS)
    frames = []
    for i in range(60):
        for packet in encoder.encode(sine_frame(i, 440.0)):
            frame = decoder.decode(packet.payload, packet.media_time)
            assert frame is not None
            frames.append(frame)
    assert abs(zero_crossing_frequency(mono_samples(frames[10:]), 48000) - 440) < 5
    with pytest.raises(ValueError):
        OpusEncoder(OPUS, complexity=11)
    with pytest.raises(ValueError):
        OpusEncoder(OPUS, application="music")


def test_libopus_decoder_recovers_losses_from_fec_and_conceals_otherwise() -> None:
    from pywebrtc.media import create_decoder
    from pywebrtc.media.libopus import LibopusDecoder

    _libopus_or_fail()
    fec_codec = AudioCodec("opus", 111, 48000, 2, {"useinbandfec": "1"})
    encoder = OpusEncoder(fec_codec, complexity=9)
    payloads = [p.payload for i in range(60) for p in encoder.encode(sine_frame(i))]
    decoder = create_decoder(fec_codec)
    assert isinstance(decoder, LibopusDecoder)
    frames = []
    for i, payload in enumerate(payloads[:-1]):
        if i % 10 == 5:
            frame = decoder.conceal(960 * i, payloads[i + 1])  # the next packet is here: FEC
        elif i % 10 == 8:
            frame = decoder.conceal(960 * i, None)  # nothing to recover from: PLC
        else:
            frame = decoder.decode(payload, 960 * i)
        assert frame is not None and frame.samples == 960 and frame.pts == 960 * i
        frames.append(frame)
    assert decoder.fec_recovered == 6 and decoder.plc_frames == 6
    assert abs(zero_crossing_frequency(mono_samples(frames[5:]), 48000) - 440) < 5
    assert decoder.decode(b"\xff\xff\xff", 0) is None and decoder.decode_errors == 1
    assert isinstance(create_decoder(fec_codec, backend="pyav"), OpusDecoder)


def _libopus_or_fail() -> None:
    from pywebrtc.media.libopus import load_libopus

    # PyAV's wheel bundles libopus: its absence is a broken install, not a reason to skip.
    assert load_libopus() is not None


def test_libopus_encoder_carries_the_tone_mono_and_stereo() -> None:
    from pywebrtc.media import create_decoder, create_encoder
    from pywebrtc.media.libopus import LibopusEncoder

    _libopus_or_fail()
    assert isinstance(create_encoder(OPUS), LibopusEncoder)
    for channels in (1, 2):
        encoder = LibopusEncoder(OPUS, channels=channels)
        decoder = create_decoder(OPUS, channels=channels)
        frames = []
        for i in range(60):
            for packet in encoder.encode(sine_frame(i, 440.0, channels=channels)):
                assert packet.media_time == 960 * i and packet.duration == 960
                frame = decoder.decode(packet.payload, packet.media_time)
                assert frame is not None
                frames.append(frame)
        assert len(frames) == 60
        assert abs(zero_crossing_frequency(mono_samples(frames[10:]), 48000) - 440) < 5


def test_libopus_encoder_resamples_other_input() -> None:
    from pywebrtc.media.libopus import LibopusEncoder

    _libopus_or_fail()
    packets = _encode_200ms_of_44k1_stereo(LibopusEncoder(OPUS))
    assert len(packets) >= 5 and all(p.duration == 960 for p in packets)


def test_fec_costs_nothing_until_loss_is_reported_then_recovers_losses() -> None:
    """With the "audio" application, FEC enabled but no reported loss, libopus codes CELT
    (cheap, no FEC data). Once RTCP reports 15% loss the stream switches to SILK/hybrid with
    in-band FEC, which the decoder uses; clean reports bring CELT back, with hysteresis."""
    from pywebrtc.media import create_decoder
    from pywebrtc.media.libopus import LibopusDecoder, LibopusEncoder, opus_mode

    _libopus_or_fail()
    codec = AudioCodec("opus", 111, 48000, 2, {"useinbandfec": "1"})
    encoder = LibopusEncoder(codec)
    assert encoder.fec and encoder.application == "audio" and encoder.packet_loss == 0
    clean = [p.payload for i in range(20) for p in encoder.encode(sine_frame(i))]
    assert {opus_mode(p) for p in clean[5:]} == {"CELT"}
    encoder.set_packet_loss(40 / 256)  # one RR: 15.6% lost
    assert encoder.packet_loss == 15
    lossy = [p.payload for i in range(20, 80) for p in encoder.encode(sine_frame(i))]
    assert {opus_mode(p) for p in lossy[5:]} <= {"SILK", "hybrid"}
    decoder = create_decoder(codec)
    assert isinstance(decoder, LibopusDecoder)
    for i, payload in enumerate(lossy[:-1]):
        if i % 10 == 5:
            assert decoder.conceal(960 * i, lossy[i + 1]) is not None
        else:
            decoder.decode(payload, 960 * i)
    assert decoder.fec_recovered == 6
    encoder.set_packet_loss(0.08)  # smoothed 11.8%: above 60% of the step, stays
    assert encoder.packet_loss == 15
    for _ in range(4):
        encoder.set_packet_loss(0.0)
    assert encoder.packet_loss == 0
    back = [p.payload for i in range(80, 100) for p in encoder.encode(sine_frame(i))]
    assert opus_mode(back[-1]) == "CELT"
    plain = LibopusEncoder(AudioCodec("opus", 111, 48000, 2, {"useinbandfec": "0"}))
    plain.set_packet_loss(0.3)
    assert not plain.fec and {opus_mode(p.payload) for p in plain.encode(sine_frame(0))} == {
        "CELT"
    }


def test_dtx_sends_nothing_for_silence_when_the_peer_asks() -> None:
    from pywebrtc.media.frames import pcm_frame
    from pywebrtc.media.libopus import LibopusEncoder

    _libopus_or_fail()
    codec = AudioCodec("opus", 111, 48000, 2, {"usedtx": "1"})
    encoder = LibopusEncoder(codec)
    assert encoder.dtx
    silence = [pcm_frame(bytes(1920), 48000, 1, 960 * i) for i in range(50)]
    sent = [p for f in silence for p in encoder.encode(f)]
    assert encoder.dtx_frames >= 35 and len(sent) <= 15
    tone = [p for i in range(50, 60) for p in encoder.encode(sine_frame(i))]
    assert len(tone) >= 9 and tone[-1].media_time == 960 * 59
    no_dtx = LibopusEncoder(OPUS)
    assert not no_dtx.dtx and len([p for f in silence for p in no_dtx.encode(f)]) == 50


def test_libopus_encoder_settings_are_validated() -> None:
    import pytest

    from pywebrtc.media.libopus import LibopusEncoder, opus_mode

    _libopus_or_fail()
    with pytest.raises(ValueError):
        LibopusEncoder(OPUS, complexity=11)
    with pytest.raises(ValueError):
        LibopusEncoder(OPUS, application="music")
    with pytest.raises(ValueError):
        opus_mode(b"")
    capped_codec = AudioCodec("opus", 111, 48000, 2, {"maxaveragebitrate": "16000"})
    assert LibopusEncoder(capped_codec).bitrate == 16000
    assert LibopusEncoder(capped_codec, bitrate=64000).bitrate == 16000
    assert LibopusEncoder(OPUS, bitrate=1000).bitrate == 6000
