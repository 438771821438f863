from __future__ import annotations

from array import array

import pytest

from pywebrtc.media import PCMA, PCMU, create_decoder, create_encoder
from pywebrtc.media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

from .tone import mono_samples, sine_frame, zero_crossing_frequency


def pcm(*values: int) -> bytes:
    return array("h", values).tobytes()


def test_known_code_points() -> None:
    # G.711: μ-law 0xFF/0x7F are ±0 and 0x00 is the most negative value; A-law 0xD5/0x55 are
    # the smallest positive/negative steps and 0xAA/0x2A the extremes.
    assert ulaw_encode(pcm(0)) == b"\xff"
    assert array("h", ulaw_decode(b"\x00\xff\x7f\x80")).tolist() == [-32124, 0, 0, 32124]
    assert alaw_encode(pcm(0)) == b"\xd5"
    assert array("h", alaw_decode(b"\xd5\x55\xaa\x2a")).tolist() == [8, -8, 32256, -32256]


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_roundtrip_error_is_within_one_segment_step(law: str) -> None:
    encode, decode = (ulaw_encode, ulaw_decode) if law == "ulaw" else (alaw_encode, alaw_decode)
    values = list(range(-32768, 32768, 13))
    back = array("h", decode(encode(pcm(*values))))
    for v, b in zip(values, back, strict=True):
        assert abs(v - b) <= max(abs(v) / 16, 16)


def test_every_code_roundtrips() -> None:
    assert alaw_encode(alaw_decode(bytes(range(256)))) == bytes(range(256))
    codes = ulaw_encode(ulaw_decode(bytes(range(256))))
    assert codes == bytes(range(256)).replace(b"\x7f", b"\xff")  # -0 encodes as +0


def test_odd_length_pcm_is_rejected() -> None:
    with pytest.raises(ValueError):
        ulaw_encode(b"\x00")


@pytest.mark.parametrize("codec", [PCMU, PCMA], ids=["PCMU", "PCMA"])
def test_codec_keeps_a_tone(codec: object) -> None:
    from pywebrtc.media import AudioCodec

    assert isinstance(codec, AudioCodec)
    encoder = create_encoder(codec)
    decoder = create_decoder(codec)
    frames = []
    for i in range(50):  # 48 kHz input is resampled to 8 kHz
        for packet in encoder.encode(sine_frame(i, 1000.0)):
            assert len(packet.payload) == 160 and packet.duration == 160
            frame = decoder.decode(packet.payload, packet.media_time)
            assert frame is not None
            frames.append(frame)
    assert frames[0].sample_rate == 8000
    freq = zero_crossing_frequency(mono_samples(frames[5:]), 8000)
    assert abs(freq - 1000) < 20
    concealed = decoder.conceal(0, None)
    assert concealed is not None and concealed.samples == 160
