"""Property tests: generated descriptions, candidates and attribute values survive
str → parse unchanged, and truncated, mutated or random text raises SdpParseError and
nothing else (including when the typed attribute views are read)."""

from __future__ import annotations

import contextlib
import string
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from pywebrtc.sdp import (
    AddressKind,
    Attribute,
    Bandwidth,
    Candidate,
    CandidateType,
    Connection,
    Direction,
    Extmap,
    Fingerprint,
    Fmtp,
    Group,
    IceOptions,
    Line,
    MediaDescription,
    Msid,
    MsidSemantic,
    Origin,
    Rid,
    Rtcp,
    RtcpFb,
    Rtpmap,
    Sctpmap,
    SdpFragment,
    SdpParseError,
    SessionDescription,
    Simulcast,
    SimulcastStream,
    Ssrc,
    SsrcGroup,
    TcpType,
    Timing,
)
from pywebrtc.sdp.attributes import AttributeValue
from tests.sdp.views import typed_views

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sdp"
FIXTURE_TEXTS = [path.read_bytes().decode() for path in sorted(FIXTURES.glob("*.sdp"))]

TYPED: dict[str, type[AttributeValue]] = {
    kind.NAME: kind
    for kind in (
        Candidate,
        Extmap,
        Fingerprint,
        Fmtp,
        Group,
        IceOptions,
        Msid,
        MsidSemantic,
        Rid,
        Rtcp,
        RtcpFb,
        Rtpmap,
        Sctpmap,
        Simulcast,
        Ssrc,
        SsrcGroup,
    )
}

U8 = 2**8 - 1
U16 = 2**16 - 1
U32 = 2**32 - 1
U64 = 2**64 - 1

TOKEN_CHARS = "!#$%&'*+-.^_`{|}~" + string.ascii_letters + string.digits
tokens = st.text(TOKEN_CHARS, min_size=1, max_size=8)
# Visible characters, beyond ASCII too (RFC 8866 non-ws-string).
visible = st.characters(min_codepoint=0x21, exclude_characters="\x7f")
non_ws = st.text(visible, min_size=1, max_size=10)
text_chars = st.characters(exclude_characters="\x00\r\n", exclude_categories=["Cs"])
texts = st.text(text_chars, max_size=20)
# Values whose ends are not blanks (parsers strip those around a field).
trimmed = texts.filter(lambda s: s == s.strip(" \t"))
nonblank = texts.filter(lambda s: s.strip(" \t") != "")
ice_chars = st.text(string.ascii_letters + string.digits + "+/", min_size=1, max_size=32)
rid_ids = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=6)
payload_types = st.integers(0, 127)


# Strategies are built once, at import: building them inside a composite re-validates them
# on every draw, which dominated the run time.
extension_names = tokens.filter(
    lambda n: n not in ("raddr", "rport", "tcptype", "generation", "network-id", "network-cost")
)
candidate_extensions = st.lists(
    st.one_of(
        st.tuples(extension_names, non_ws),
        st.tuples(
            st.sampled_from(["generation", "network-id", "network-cost"]),
            st.integers(0, U32).map(str),
        ),
    ),
    max_size=4,
).map(tuple)
candidates = st.builds(
    Candidate,
    foundation=ice_chars,
    component=st.integers(1, 256),
    transport=st.one_of(st.sampled_from(["udp", "UDP", "tcp", "TCP"]), tokens),
    priority=st.integers(0, U32),
    address=non_ws,
    port=st.integers(0, U16),
    type=st.one_of(st.sampled_from(list(CandidateType)), tokens),
    related_address=st.none() | non_ws,
    related_port=st.none() | st.integers(0, U16),
    tcptype=st.none() | st.sampled_from(list(TcpType)),
    extensions=candidate_extensions,
)


streams = st.lists(
    st.lists(st.builds(SimulcastStream, rid_ids, st.booleans()), min_size=1, max_size=3).map(tuple),
    min_size=1,
    max_size=3,
).map(tuple)
restrictions = st.lists(
    st.tuples(
        tokens.filter(lambda n: n != "pt"),
        st.none() | st.text(visible.filter(lambda c: c != ";"), max_size=6),
    ),
    max_size=3,
).map(tuple)
fmtp_parameters = st.lists(
    st.tuples(
        st.text(text_chars.filter(lambda c: c not in ";="), min_size=1, max_size=8).filter(
            lambda s: s == s.strip(" \t") and s != ""
        ),
        st.none()
        | st.text(text_chars.filter(lambda c: c != ";"), max_size=8).filter(
            lambda s: s == s.strip(" \t")
        ),
    ),
    max_size=4,
).map(tuple)

attribute_values: st.SearchStrategy[AttributeValue] = st.one_of(
    candidates,
    st.builds(Group, tokens, st.lists(tokens, max_size=3).map(tuple)),
    st.builds(MsidSemantic, non_ws, st.lists(non_ws, max_size=2).map(tuple)),
    st.builds(Msid, non_ws, st.none() | non_ws),
    st.builds(
        Fingerprint,
        tokens,
        st.lists(st.integers(0, 255), min_size=1, max_size=8).map(
            lambda b: ":".join(f"{x:02x}" for x in b)
        ),
    ),
    st.builds(IceOptions, st.lists(ice_chars, min_size=1, max_size=3).map(tuple)),
    st.builds(Rtcp, st.integers(0, U16)),
    st.builds(Rtcp, st.integers(0, U16), tokens, tokens, non_ws),
    st.builds(Sctpmap, st.integers(0, U16), tokens, st.none() | st.integers(0, U16)),
    st.builds(
        Rtpmap,
        payload_types,
        tokens.filter(lambda t: "/" not in t),
        st.integers(1, U32),
        st.none() | st.integers(1, U8),
    ),
    st.builds(Fmtp, payload_types, fmtp_parameters),
    st.builds(
        RtcpFb,
        st.none() | payload_types,
        tokens,
        st.none() | trimmed.filter(bool),
    ),
    st.builds(
        Extmap,
        st.one_of(st.integers(1, 255), st.integers(4096, 4351)),
        non_ws,
        st.none() | st.sampled_from(list(Direction)),
        st.none() | trimmed.filter(bool),
    ),
    st.builds(
        Ssrc, st.integers(0, U32), tokens, st.none() | texts.filter(lambda s: s == s.rstrip(" \t"))
    ),
    st.builds(SsrcGroup, tokens, st.lists(st.integers(0, U32), max_size=4).map(tuple)),
    st.builds(Simulcast, streams, st.just(())),
    st.builds(Simulcast, st.just(()), streams),
    st.builds(Simulcast, streams, streams),
    st.builds(
        Rid,
        rid_ids,
        st.sampled_from(["send", "recv"]),
        st.lists(payload_types, max_size=3).map(tuple),
        restrictions,
    ),
)


@given(attribute_values)
def test_typed_attribute_values_round_trip(value: AttributeValue) -> None:
    assert type(value).parse(str(value)) == value


@given(candidates)
def test_candidates_round_trip(candidate: Candidate) -> None:
    assert Candidate.parse(str(candidate)) == candidate
    assert Candidate.parse(candidate.to_sdp_attribute()) == candidate


plain_addresses = non_ws.filter(lambda s: "/" not in s)
connections = st.one_of(
    st.builds(
        Connection,
        plain_addresses,
        st.just("IP4"),
        tokens,
        st.integers(0, 255),
        st.none() | st.integers(1, U16),
    ),
    st.builds(Connection, plain_addresses, st.just("IP4"), tokens),
    st.builds(
        Connection,
        plain_addresses,
        st.just("IP6"),
        tokens,
        st.none(),
        st.none() | st.integers(1, U16),
    ),
    st.builds(
        Connection, plain_addresses, tokens.filter(lambda t: t not in ("IP4", "IP6")), tokens
    ),
)


raw_attributes = st.one_of(
    st.builds(Attribute, tokens, st.none() | texts),
    attribute_values.map(Attribute.of),
)
unknown_lines = st.builds(Line, st.sampled_from("dfghjlnqwxy"), texts)
bandwidths = st.builds(Bandwidth, tokens, st.integers(0, U32))


media_sections = st.builds(
    MediaDescription,
    media=tokens,
    port=st.integers(0, U16),
    proto=st.lists(tokens, min_size=1, max_size=4).map("/".join),
    formats=st.lists(tokens, max_size=4),
    port_count=st.none() | st.integers(1, U16),
    information=st.none() | texts,
    connections=st.lists(connections, max_size=2),
    bandwidths=st.lists(bandwidths, max_size=2),
    key=st.none() | texts,
    attributes=st.lists(raw_attributes, max_size=4),
    extra_lines=st.lists(unknown_lines, max_size=2),
)
origins = st.builds(
    Origin,
    session_id=st.integers(0, U64),
    session_version=st.integers(0, U64),
    username=non_ws,
    nettype=tokens,
    addrtype=tokens,
    address=non_ws,
)
timings = st.builds(
    Timing, st.integers(0, U64), st.integers(0, U64), st.lists(nonblank, max_size=2).map(tuple)
)
descriptions = st.builds(
    SessionDescription,
    origin=origins,
    session_name=texts,
    information=st.none() | texts,
    uri=st.none() | non_ws,
    emails=st.lists(texts, max_size=2),
    phones=st.lists(texts, max_size=2),
    connection=st.none() | connections,
    bandwidths=st.lists(bandwidths, max_size=2),
    timings=st.lists(timings, max_size=2),
    time_zones=st.none() | texts,
    key=st.none() | texts,
    attributes=st.lists(raw_attributes, max_size=4),
    media=st.lists(media_sections, max_size=2),
    extra_lines=st.lists(unknown_lines, max_size=2),
)


@given(descriptions)
def test_generated_descriptions_round_trip(description: SessionDescription) -> None:
    text = str(description)
    parsed = SessionDescription.parse(text)
    assert parsed == description
    assert str(parsed) == text


@given(st.lists(raw_attributes, max_size=4), st.lists(media_sections, max_size=2))
def test_generated_fragments_round_trip(
    attributes: list[Attribute], media: list[MediaDescription]
) -> None:
    fragment = SdpFragment(attributes, media)
    assert SdpFragment.parse(str(fragment)) == fragment


def check_fragment_only_sdp_parse_error(text: str) -> None:
    try:
        fragment = SdpFragment.parse(text)
    except SdpParseError:
        return
    assert SdpFragment.parse(str(fragment)) == fragment
    for media in fragment.media:
        with contextlib.suppress(SdpParseError):
            media.candidates  # noqa: B018


def check_only_sdp_parse_error(text: str) -> None:
    """Parse; if that works, the result must re-parse equal and every typed view and typed
    attribute may fail only with SdpParseError, and round-trip when it does not."""
    try:
        description = SessionDescription.parse(text)
    except SdpParseError:
        return
    serialised = str(description)
    assert SessionDescription.parse(serialised) == description
    for view in typed_views(description):
        with contextlib.suppress(SdpParseError):
            view()
    sections = [description.attributes] + [m.attributes for m in description.media]
    for attributes in sections:
        for attribute in attributes:
            kind = TYPED.get(attribute.name)
            if kind is None:
                continue
            try:
                value = kind.parse(attribute.value or "")
            except SdpParseError:
                continue
            assert kind.parse(str(value)) == value


@given(st.text())
@example("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n")
def test_random_text_raises_only_sdp_parse_error(text: str) -> None:
    check_only_sdp_parse_error(text)
    check_fragment_only_sdp_parse_error(text)


@given(st.binary())
def test_random_bytes_as_latin1_raise_only_sdp_parse_error(data: bytes) -> None:
    check_only_sdp_parse_error(data.decode("latin-1"))


@given(st.sampled_from(FIXTURE_TEXTS), st.data())
def test_truncated_fixtures_raise_only_sdp_parse_error(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(text)))
    check_only_sdp_parse_error(text[:cut])


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(FIXTURE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\r\n")
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(
            st.sampled_from(["delete", "insert", "replace", "duplicate", "swap", "chars"])
        )
        noise = draw(st.text(max_size=12))
        if action == "delete":
            del lines[index]
        elif action == "insert":
            lines.insert(index, draw(st.sampled_from("vosiuepcbtrzkamx")) + "=" + noise)
        elif action == "replace":
            line = lines[index]
            lines[index] = line[:2] + noise
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + noise + line[at + draw(st.integers(0, 3)) :]
        text = "\r\n".join(lines)
    return text


@given(mutated_fixtures())
def test_mutated_fixtures_raise_only_sdp_parse_error(text: str) -> None:
    check_only_sdp_parse_error(text)
    # Without its first lines a description is close to a fragment: fuzz that parser too.
    check_fragment_only_sdp_parse_error(text.partition("m=")[1] + text.partition("m=")[2])


@given(st.text(max_size=80))
def test_random_candidate_text_raises_only_sdp_parse_error(text: str) -> None:
    for candidate_text in (text, "candidate:1 1 udp 1 192.0.2.1 9 typ host " + text):
        try:
            candidate = Candidate.parse(candidate_text)
        except SdpParseError:
            continue
        assert Candidate.parse(str(candidate)) == candidate
        assert candidate.address_kind in AddressKind
        # Known integer extensions are checked when parsed, so reading them cannot fail.
        assert candidate.generation != -1 and candidate.network_id != -1
        assert candidate.network_cost != -1


@given(st.sampled_from(sorted(TYPED)), st.text(max_size=40))
def test_random_attribute_values_raise_only_sdp_parse_error(name: str, value: str) -> None:
    kind = TYPED[name]
    try:
        parsed = kind.parse(value)
    except SdpParseError:
        return
    assert kind.parse(str(parsed)) == parsed
