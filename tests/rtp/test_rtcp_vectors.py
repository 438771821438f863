"""RTCP packets against hand-built byte vectors (layouts from the RFCs, field by field)."""

import pytest

from pywebrtc.rtp import (
    App,
    Bye,
    CcfbReportBlock,
    CongestionControlFeedback,
    DlrrBlock,
    DlrrSubBlock,
    ExtendedReport,
    Fir,
    FirEntry,
    Nack,
    PacketMetric,
    Pli,
    ReceiverReport,
    Remb,
    ReportBlock,
    RrtrBlock,
    RtcpParseError,
    RunLengthChunk,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    StatusVectorChunk,
    TransportCcFeedback,
    UnknownRtcp,
    UnknownXrBlock,
    parse_rtcp,
    serialize_rtcp,
)

# One report block (RFC 3550 §6.4.1), shared by the SR and RR vectors.
BLOCK = bytes.fromhex(
    "5d188f2c"  # SSRC_1
    "19"  # fraction lost 25/256
    "fffffe"  # cumulative lost -2 (signed 24 bits: duplicates)
    "00013b2e"  # extended highest seq: 1 cycle, seq 0x3b2e
    "00000020"  # jitter 32
    "e2409a3c"  # LSR
    "00018000"  # DLSR 1.5 s (1/65536 s units)
)
BLOCK_VALUE = ReportBlock(0x5D188F2C, 25, -2, 0x13B2E, 32, 0xE2409A3C, 0x18000)


def test_sender_report() -> None:
    data = (
        bytes.fromhex(
            "81c8000c"  # V=2 P=0 RC=1 | PT=200 | length 12 words
            "11223344"  # SSRC of sender
            "e8a1b2c3d4e5f607"  # NTP timestamp
            "0001e240"  # RTP timestamp
            "000003e8"  # packet count 1000
            "00027100"  # octet count 160000
        )
        + BLOCK
    )
    sr = SenderReport.parse(data)
    assert sr == SenderReport(0x11223344, 0xE8A1B2C3D4E5F607, 123456, 1000, 160000, (BLOCK_VALUE,))
    assert bytes(sr) == data
    assert parse_rtcp(data) == [sr]


def test_receiver_report_with_profile_extension() -> None:
    data = bytes.fromhex("81c9000800000001") + BLOCK + b"EXT!"  # 4-byte profile extension
    rr = ReceiverReport.parse(data)
    assert rr == ReceiverReport(1, (BLOCK_VALUE,), b"EXT!")
    assert bytes(rr) == data


def test_report_block_alone() -> None:
    assert ReportBlock.parse(BLOCK) == BLOCK_VALUE
    assert bytes(BLOCK_VALUE) == BLOCK
    assert bytes(ReportBlock(1, cumulative_lost=-0x800000))[5:8] == b"\x80\x00\x00"
    with pytest.raises(ValueError):
        bytes(ReportBlock(1, cumulative_lost=0x800000))


# A Chrome receive-only compound report: RR + SDES(CNAME), 16-character CNAME.
CHROME_RR_SDES = (
    bytes.fromhex("81c9000700000001")  # RR, RC=1, length 7: SSRC 1 (Chrome's recv-only SSRC)
    + BLOCK
    + bytes.fromhex(
        "81ca0006"  # V=2 SC=1 | PT=202 | length 6
        "00000001"  # chunk SSRC
        "0110"  # CNAME, 16 bytes
    )
    + b"t3Ux2GtCwnsw9Ee6"
    + bytes.fromhex("0000")  # null item + padding to 32 bits
)


def test_chrome_compound_rr_sdes() -> None:
    rr, sdes = parse_rtcp(CHROME_RR_SDES, strict=True)
    assert rr == ReceiverReport(1, (BLOCK_VALUE,))
    assert isinstance(sdes, SourceDescription)
    assert sdes.chunks == (SdesChunk(1, (SdesItem(1, b"t3Ux2GtCwnsw9Ee6"),)),)
    assert sdes.chunks[0].cname == "t3Ux2GtCwnsw9Ee6"
    assert serialize_rtcp([rr, sdes]) == CHROME_RR_SDES


def test_sdes_multiple_chunks_and_items() -> None:
    # SC=2, length 6. Chunk 1: SSRC 10, CNAME "a", null. Chunk 2: SSRC 11, CNAME "bb",
    # NAME "zzz" -> 4 + 4 + 5 = 13 bytes, null, padded to 16.
    data = bytes.fromhex("82ca0006 0000000a 01016100 0000000b 01026262 02037a7a 7a000000")
    sdes = SourceDescription.parse(data)
    assert sdes.chunks == (
        SdesChunk(10, (SdesItem(1, b"a"),)),
        SdesChunk(11, (SdesItem(1, b"bb"), SdesItem(2, b"zzz"))),
    )
    assert bytes(sdes) == data


def test_sdes_chunk_aligned_item_list_gets_a_full_null_word() -> None:
    # 4 (SSRC) + 2 + 2 = 8 bytes of items: the terminating null needs a whole extra word.
    chunk = SdesChunk(1, (SdesItem(1, b"ab"),))
    assert bytes(chunk) == bytes.fromhex("00000001 01026162 00000000")
    assert SourceDescription.parse(bytes(SourceDescription((chunk,)))).chunks == (chunk,)


def test_bye_with_and_without_reason() -> None:
    # SC=2: SSRCs 1 and 2, reason "bye" (length 3) padded to 32 bits.
    data = bytes.fromhex("82cb0003 00000001 00000002 03627965")
    bye = Bye.parse(data)
    assert bye == Bye((1, 2), b"bye")
    assert bytes(bye) == data
    assert Bye.parse(bytes.fromhex("81cb000100000009")) == Bye((9,))
    assert bytes(Bye((9,), b"")) == bytes.fromhex("81cb0002 00000009 00000000")


def test_app() -> None:
    data = bytes.fromhex("85cc0003 00000007 71667472 01020304")  # subtype 5, "qftr"
    app = App.parse(data)
    assert app == App(5, 7, b"qftr", b"\x01\x02\x03\x04")
    assert bytes(app) == data


def test_generic_nack() -> None:
    data = bytes.fromhex(
        "81cd0003"  # FMT=1 | PT=205 (RTPFB) | length 3
        "00000001"  # sender SSRC
        "5d188f2c"  # media SSRC
        "03e8"  # PID 1000
        "8005"  # BLP: bits 0, 2, 15 -> 1001, 1003, 1016
    )
    nack = Nack.parse(data)
    assert nack == Nack(1, 0x5D188F2C, ((1000, 0x8005),))
    assert nack.lost == [1000, 1001, 1003, 1016]
    assert Nack.from_lost(1, 0x5D188F2C, [1000, 1001, 1003, 1016]) == nack
    assert bytes(nack) == data


def test_nack_wraps_around_sequence_numbers() -> None:
    nack = Nack.from_lost(1, 2, [65534, 65535, 0, 1, 40])
    assert nack.pairs == ((65534, 0b111), (40, 0))
    assert nack.lost == [65534, 65535, 0, 1, 40]


def test_pli() -> None:
    data = bytes.fromhex("81ce0002 00000001 5d188f2c")  # FMT=1 | PT=206, no FCI
    assert Pli.parse(data) == Pli(1, 0x5D188F2C)
    assert bytes(Pli(1, 0x5D188F2C)) == data
    with pytest.raises(RtcpParseError):
        Pli.parse(bytes.fromhex("81ce0003 00000001 5d188f2c 00000000"))


def test_fir() -> None:
    data = bytes.fromhex(
        "84ce0006"  # FMT=4 | PT=206 | length 6
        "00000001"  # sender SSRC
        "00000000"  # media SSRC: 0 for FIR
        "5d188f2c"
        "07000000"  # FCI: SSRC, seq nr 7, reserved
        "11223344"
        "08000000"
    )
    fir = Fir.parse(data)
    assert fir == Fir(1, (FirEntry(0x5D188F2C, 7), FirEntry(0x11223344, 8)))
    assert bytes(fir) == data


def test_remb() -> None:
    data = bytes.fromhex(
        "8fce0005"  # FMT=15 | PT=206 | length 5
        "00000001"  # sender SSRC
        "00000000"  # media SSRC 0
        "52454d42"  # "REMB"
        "01130000"  # num SSRC 1 | BR exp 4 (6 bits) | mantissa 0x30000 (18 bits)
        "5d188f2c"  # SSRC feedback
    )
    remb = Remb.parse(data)
    assert remb == Remb(1, 196608 << 4, (0x5D188F2C,))
    assert bytes(remb) == data
    # 1_000_001 needs 20 bits: exponent 2, mantissa 250000, the low bits are dropped.
    assert Remb.create(1, 1_000_001, [2]).bitrate == 1_000_000
    with pytest.raises(ValueError):
        bytes(Remb(1, 2**18 + 1))


def test_other_application_layer_feedback_is_kept_raw() -> None:
    data = bytes.fromhex("8fce0003 00000001 00000000 41424344")  # "ABCD", not REMB
    assert parse_rtcp(data) == [UnknownRtcp(206, 15, data[4:])]


# A TWCC feedback as Chrome sends it: padded with the P bit, the last byte counting padding.
CHROME_TWCC = bytes.fromhex(
    "afcd0007"  # V=2 P=1 FMT=15 | PT=205 | length 7 (32 bytes)
    "00000001"  # sender SSRC
    "5d188f2c"  # media SSRC
    "0167"  # base sequence 359
    "0007"  # packet status count 7
    "3a5b1c"  # reference time 0x3a5b1c * 64 ms
    "2c"  # feedback packet count 44
    "2007"  # run-length chunk: T=0, S=01 (small delta), run length 7
    "2c0408001004"
    "04"  # 7 small deltas (250 us units)
    "000003"  # padding, count 3
)


def test_chrome_twcc_feedback() -> None:
    (fb,) = parse_rtcp(CHROME_TWCC)
    assert fb == TransportCcFeedback(
        1, 0x5D188F2C, 359, 7, 0x3A5B1C, 44, (RunLengthChunk(1, 7),), (44, 4, 8, 0, 16, 4, 4)
    )
    assert isinstance(fb, TransportCcFeedback)
    packets = fb.packets()
    assert [seq for seq, _ in packets] == list(range(359, 366))
    base = 0x3A5B1C * 0.064
    assert packets[0][1] == pytest.approx(base + 44 * 0.00025)
    assert packets[-1][1] == pytest.approx(base + 84 * 0.00025)
    # We write zero padding instead of the P bit; the content is the same.
    assert parse_rtcp(bytes(fb)) == [fb]


def test_twcc_vector_chunks_and_large_deltas() -> None:
    data = bytes.fromhex(
        "8fcd0007"  # FMT=15 | PT=205 | length 7
        "00000001"
        "00000002"
        "fffe"  # base sequence 65534: wraps
        "0010"  # 16 packets
        "ffffff"  # reference time -1 (signed)
        "00"
        "d850"  # 2-bit vector: 01 10 00 01 01 00 00 -> small, large, lost, small, small, lost, lost
        "a000"  # 1-bit vector: 1 then 13 lost (only 9 more packets are counted)
        "05"
        "fff6"
        "01"
        "02"
        "03"  # small 5, large -10, small 1, small 2, small 3
        "0000"  # zero padding
    )
    fb = TransportCcFeedback.parse(data)
    assert fb.reference_time == -1
    assert fb.chunks == (
        StatusVectorChunk(2, (1, 2, 0, 1, 1, 0, 0)),
        StatusVectorChunk(1, (1,) + (0,) * 13),
    )
    assert fb.deltas == (5, -10, 1, 2, 3)
    received = [(seq, t) for seq, t in fb.packets() if t is not None]
    assert [seq for seq, _ in received] == [65534, 65535, 1, 2, 5]
    assert bytes(fb) == data


def test_twcc_encoder_output() -> None:
    fb = TransportCcFeedback.from_arrivals(
        1, 2, [(10, 1.0), (11, 1.0005), (12, None), (14, 2.0)], feedback_count=3
    )
    assert fb.base_sequence == 10 and fb.status_count == 5
    assert fb.reference_time == 15  # 1.0 s // 64 ms
    # 1.0 - 15 * 0.064 = 40 ms = 160 units; then +2 units; then 999.5 ms = 3998 units (large)
    assert fb.deltas == (160, 2, 3998)
    assert fb.chunks == (StatusVectorChunk(2, (1, 1, 0, 0, 2, 0, 0)),)
    assert TransportCcFeedback.parse(bytes(fb)) == fb


def test_rfc8888_congestion_control_feedback() -> None:
    data = bytes.fromhex(
        "8bcd0006"  # FMT=11 | PT=205 | length 6
        "00000001"  # SSRC of packet sender
        "5d188f2c"  # SSRC of 1st RTP stream
        "0064"  # begin_seq 100
        "0003"  # num_reports 3
        "a010"  # R=1 ECN=01 ATO=16 (16/1024 s)
        "0000"  # not received
        "9ffe"  # R=1 ECN=00 ATO=0x1ffe (unavailable)
        "0000"  # padding to 32 bits (odd count)
        "e2409a3c"  # report timestamp
    )
    fb = CongestionControlFeedback.parse(data)
    assert fb == CongestionControlFeedback(
        1,
        (
            CcfbReportBlock(
                0x5D188F2C,
                100,
                (PacketMetric(True, 1, 16), PacketMetric(False), PacketMetric(True, 0, 0x1FFE)),
            ),
        ),
        0xE2409A3C,
    )
    assert bytes(fb) == data
    assert parse_rtcp(data) == [fb]


def test_xr_rrtr_dlrr_and_unknown_block() -> None:
    data = bytes.fromhex(
        "80cf000a"  # XR | PT=207 | length 10
        "00000001"  # SSRC
        "04000002"
        "e8a1b2c3d4e5f607"  # RRTR: BT=4, length 2, NTP timestamp
        "05000003"
        "5d188f2c"
        "b2c3d4e5"
        "00010000"  # DLRR: one sub-block
        "2a070001"
        "deadbeef"  # unknown BT=42, type-specific 7, one word
    )
    xr = ExtendedReport.parse(data)
    assert xr == ExtendedReport(
        1,
        (
            RrtrBlock(0xE8A1B2C3D4E5F607),
            DlrrBlock((DlrrSubBlock(0x5D188F2C, 0xB2C3D4E5, 0x10000),)),
            UnknownXrBlock(42, 7, bytes.fromhex("deadbeef")),
        ),
    )
    assert bytes(xr) == data


def test_unknown_packet_type_is_kept_raw() -> None:
    data = bytes.fromhex("83d0000101020304")  # PT 208 (SMPTETC) is not decoded here
    unknown = UnknownRtcp.parse(data)
    assert unknown == UnknownRtcp(208, 3, b"\x01\x02\x03\x04")
    assert bytes(unknown) == data
    assert parse_rtcp(CHROME_RR_SDES + data)[-1] == unknown


def test_reduced_size_single_feedback_packet() -> None:
    pli = bytes(Pli(1, 2))
    assert parse_rtcp(pli, strict=True) == [Pli(1, 2)]


def test_strict_compound_must_start_with_a_report() -> None:
    data = bytes(Pli(1, 2)) + bytes(ReceiverReport(1))
    assert len(parse_rtcp(data)) == 2
    with pytest.raises(RtcpParseError):
        parse_rtcp(data, strict=True)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes.fromhex("81c9"),  # header truncated
        bytes.fromhex("41c9000100000001"),  # version 1
        bytes.fromhex("81c9000200000001"),  # length beyond the datagram
        bytes.fromhex("81c9000100000001"),  # RR count 1 but no block
        bytes.fromhex("a0c9000100000000"),  # padding count 0
        bytes.fromhex("a0c9000100000009"),  # padding larger than the packet body
        bytes.fromhex("a0c9000100000004") + bytes(ReceiverReport(1)),  # padding not last
        bytes.fromhex("81ca000100000001"),  # SDES chunk without a null item
        bytes.fromhex("81cb000100000001") + bytes.fromhex("81cb0002 00000001 05616200"),
        bytes.fromhex("8fce0004 00000001 00000000 52454d42 02000000"),  # 2 SSRCs, 0 sent
        bytes.fromhex("8fcd0005 00000001 00000002 00000002 00000000 60010000"),
    ],
)
def test_malformed_rtcp_raises_rtcp_parse_error(data: bytes) -> None:
    with pytest.raises(RtcpParseError):
        parse_rtcp(data)
