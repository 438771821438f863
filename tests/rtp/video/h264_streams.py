"""Synthetic H.264 access units and RTP packetization helpers for the tests."""

from __future__ import annotations

import random

from pywebrtc.rtp import RtpPacket
from pywebrtc.rtp.video.h264 import H264Payloader, join_annexb

SPS = bytes.fromhex("6742c01fd9005005ba10000003001000000303c0f1832a")
PPS = bytes.fromhex("68cb83cb20")


def slice_nal(size: int, *, idr: bool, first: bool = True, seed: int = 0) -> bytes:
    """A slice NAL unit of ``size`` bytes; ``first``: first_mb_in_slice = 0. The body is
    random but never holds a start code (Annex B emulation prevention)."""
    rng = random.Random(seed)
    header = 0x65 if idr else 0x41
    body = bytearray(rng.randrange(1, 256) for _ in range(max(size - 2, 0)))
    second = 0x88 if first else 0x1A
    return bytes([header, second]) + bytes(body)


def access_unit(sizes: list[int], *, keyframe: bool, seed: int = 0) -> list[bytes]:
    """The NAL units of one access unit: SPS + PPS for a keyframe, then slices of ``sizes``."""
    nals = [SPS, PPS] if keyframe else []
    for i, size in enumerate(sizes):
        nals.append(slice_nal(size, idr=keyframe, first=i == 0, seed=seed * 31 + i))
    return nals


def packetize_stream(
    units: list[list[bytes]], *, mtu: int = 1200, first_seq: int = 0, ssrc: int = 1
) -> list[RtpPacket]:
    """RTP packets of a sequence of access units, 3000 ticks (30 fps at 90 kHz) apart."""
    payloader = H264Payloader(mtu)
    out: list[RtpPacket] = []
    seq = first_seq
    for i, nals in enumerate(units):
        for payload, marker in payloader.packetize(join_annexb(nals)):
            out.append(RtpPacket(102, seq & 0xFFFF, (i * 3000) & 0xFFFFFFFF, ssrc, payload, marker))
            seq += 1
    return out
