"""Hypothesis strategies building valid RTP/RTCP values."""

from hypothesis import strategies as st

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
    PacketChunk,
    PacketMetric,
    Pli,
    ReceiverReport,
    Remb,
    ReportBlock,
    RrtrBlock,
    RtcpPacket,
    RtpPacket,
    RunLengthChunk,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    StatusVectorChunk,
    TransportCcFeedback,
    UnknownRtcp,
    UnknownXrBlock,
    XrBlock,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 2**64 - 1)


def words(max_words: int = 8) -> st.SearchStrategy[bytes]:
    """Bytes whose length is a multiple of 4."""
    return st.integers(0, max_words).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))


@st.composite
def rtp_packets(draw: st.DrawFn) -> RtpPacket:
    extension_profile = draw(st.none() | u16)
    return RtpPacket(
        payload_type=draw(st.integers(0, 127)),
        sequence_number=draw(u16),
        timestamp=draw(u32),
        ssrc=draw(u32),
        payload=draw(st.binary(max_size=64)),
        marker=draw(st.booleans()),
        csrcs=tuple(draw(st.lists(u32, max_size=15))),
        extension_profile=extension_profile,
        extension_data=b"" if extension_profile is None else draw(words()),
        padding_size=draw(u8),
    )


extension_elements = st.dictionaries(st.integers(1, 255), st.binary(max_size=255), max_size=8)

report_blocks = st.builds(
    ReportBlock,
    ssrc=u32,
    fraction_lost=u8,
    cumulative_lost=st.integers(-0x800000, 0x7FFFFF),
    extended_highest_sequence=u32,
    jitter=u32,
    lsr=u32,
    dlsr=u32,
)
blocks = st.lists(report_blocks, max_size=4).map(tuple)

sender_reports = st.builds(SenderReport, u32, u64, u32, u32, u32, blocks, words(3))
receiver_reports = st.builds(ReceiverReport, u32, blocks, words(3))
sdes_items = st.builds(SdesItem, st.integers(1, 255), st.binary(max_size=255))
sdes_chunks = st.builds(SdesChunk, u32, st.lists(sdes_items, max_size=4).map(tuple))
sdes_packets = st.builds(SourceDescription, st.lists(sdes_chunks, max_size=4).map(tuple))
byes = st.builds(Bye, st.lists(u32, max_size=31).map(tuple), st.none() | st.binary(max_size=255))
apps = st.builds(App, st.integers(0, 31), u32, st.binary(min_size=4, max_size=4), words())
nacks = st.builds(Nack, u32, u32, st.lists(st.tuples(u16, u16), max_size=8).map(tuple))
plis = st.builds(Pli, u32, u32)
firs = st.builds(Fir, u32, st.lists(st.builds(FirEntry, u32, u8), max_size=4).map(tuple), u32)
rembs = st.builds(
    Remb,
    u32,
    st.tuples(st.integers(0, 2**18 - 1), st.integers(0, 63)).map(lambda me: me[0] << me[1]),
    st.lists(u32, max_size=8).map(tuple),
    u32,
)


@st.composite
def twcc_feedbacks(draw: st.DrawFn) -> TransportCcFeedback:
    chunks: list[PacketChunk] = []
    statuses: list[int] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["run", "one", "two"]))
        if kind == "run":
            status, run_length = draw(st.integers(0, 2)), draw(st.integers(1, 40))
            chunk: PacketChunk = RunLengthChunk(status, run_length)
            statuses += [status] * run_length
        elif kind == "one":
            symbols = tuple(draw(st.lists(st.integers(0, 1), min_size=14, max_size=14)))
            chunk = StatusVectorChunk(1, symbols)
            statuses += symbols
        else:
            symbols = tuple(draw(st.lists(st.integers(0, 2), min_size=7, max_size=7)))
            chunk = StatusVectorChunk(2, symbols)
            statuses += symbols
        chunks.append(chunk)
    last = chunks[-1]
    last_size = last.run_length if isinstance(last, RunLengthChunk) else len(last.symbols)
    status_count = draw(st.integers(len(statuses) - last_size + 1, len(statuses)))
    deltas = []
    for status in statuses[:status_count]:
        if status == 1:
            deltas.append(draw(u8))
        elif status == 2:
            deltas.append(draw(st.integers(-0x8000, 0x7FFF)))
    return TransportCcFeedback(
        draw(u32),
        draw(u32),
        draw(u16),
        status_count,
        draw(st.integers(-0x800000, 0x7FFFFF)),
        draw(u8),
        tuple(chunks),
        tuple(deltas),
    )


metrics = st.builds(PacketMetric, st.booleans(), st.integers(0, 3), st.integers(0, 0x1FFF))
ccfbs = st.builds(
    CongestionControlFeedback,
    u32,
    st.lists(
        st.builds(CcfbReportBlock, u32, u16, st.lists(metrics, max_size=9).map(tuple)),
        max_size=3,
    ).map(tuple),
    u32,
)
xr_blocks: st.SearchStrategy[XrBlock] = st.one_of(
    st.builds(RrtrBlock, u64),
    st.builds(DlrrBlock, st.lists(st.builds(DlrrSubBlock, u32, u32, u32), max_size=3).map(tuple)),
    st.builds(UnknownXrBlock, st.integers(0, 255).filter(lambda t: t not in (4, 5)), u8, words()),
)
xrs = st.builds(ExtendedReport, u32, st.lists(xr_blocks, max_size=4).map(tuple))
unknowns = st.builds(
    UnknownRtcp,
    st.integers(0, 255).filter(lambda t: not 200 <= t <= 207),
    st.integers(0, 31),
    words(),
)

rtcp_packets: st.SearchStrategy[RtcpPacket] = st.one_of(
    sender_reports,
    receiver_reports,
    sdes_packets,
    byes,
    apps,
    nacks,
    plis,
    firs,
    rembs,
    twcc_feedbacks(),
    ccfbs,
    xrs,
    unknowns,
)
