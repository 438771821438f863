"""Per-stream reassembly: any arrival order yields the messages; hostile input stays cheap."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from pywebrtc.sctp.chunk import DataChunk
from pywebrtc.sctp.reassembly import CHUNK_OVERHEAD, InboundStream


def fragments(messages: list[bytes], unordered: bool, size: int) -> list[tuple[int, DataChunk]]:
    out: list[tuple[int, DataChunk]] = []
    tsn = 100
    for ssn, message in enumerate(messages):
        pieces = [message[i : i + size] for i in range(0, len(message), size)]
        for i, piece in enumerate(pieces):
            flags = (
                (4 if unordered else 0) | (2 if i == 0 else 0) | (1 if i == len(pieces) - 1 else 0)
            )
            out.append((tsn, DataChunk(flags, tsn, 1, ssn, 53, piece)))
            tsn += 1
    return out


@given(
    st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=8),
    st.booleans(),
    st.integers(1, 7),
    st.randoms(use_true_random=False),
)
def test_any_arrival_order_reassembles(
    messages: list[bytes], unordered: bool, size: int, rnd: object
) -> None:
    frags = fragments(messages, unordered, size)
    rnd.shuffle(frags)  # type: ignore[attr-defined]
    stream = InboundStream(1000)
    got: list[bytes] = []
    for tsn, chunk in frags:
        outcome = stream.add(tsn, chunk)
        assert outcome.error is None
        got.extend(m.data for m in outcome.messages)
    if unordered:
        assert sorted(got) == sorted(messages)
    else:
        assert got == messages
    assert not stream.buffered


def test_hostile_unordered_fragments_cost_linear_time() -> None:
    # 30000 one-byte middle fragments in reverse order, then the B and E that join them all.
    stream = InboundStream(1 << 20)
    n = 30000
    start = time.process_time()
    for tsn in range(n, 0, -1):
        stream.add(tsn, DataChunk(4, tsn, 1, 0, 53, b"x"))
    stream.add(0, DataChunk(4 | 2, 0, 1, 0, 53, b"B"))
    outcome = stream.add(n + 1, DataChunk(4 | 1, n + 1, 1, 0, 53, b"E"))
    assert time.process_time() - start < 5.0
    assert [len(m.data) for m in outcome.messages] == [n + 2]


def test_oversized_unordered_run_is_dropped_with_an_error() -> None:
    stream = InboundStream(100)
    outcome = stream.add(1, DataChunk(4 | 2, 1, 1, 0, 53, bytes(60)))
    assert outcome.error is None
    outcome = stream.add(2, DataChunk(4, 2, 1, 0, 53, bytes(60)))
    assert outcome.error is not None and outcome.freed > 0 and not stream.buffered


def test_forward_tsn_delivers_the_complete_messages_held_behind_a_skipped_one() -> None:
    # SSN 0 never arrives; 1 and 3 do, 2 arrives in part. A FORWARD TSN skipping to SSN 3
    # (the sender abandoned 0-3, say after the SACKs for 1-3 were lost) makes SSNs 0-3
    # available for delivery (RFC 3758 §3.6): 1 and 3 are delivered in order, the partial 2
    # is dropped, and 4 then follows.
    stream = InboundStream(1000)
    held = [
        stream.add(11, DataChunk(3, 11, 1, 1, 53, b"one")),
        stream.add(12, DataChunk(2, 12, 1, 2, 53, b"tw")),
        stream.add(14, DataChunk(3, 14, 1, 3, 53, b"three")),
    ]
    assert not any(outcome.messages for outcome in held)
    outcome = stream.forward(14, 3)
    assert [m.data for m in outcome.messages] == [b"one", b"three"]
    assert outcome.freed == len(b"tw") + CHUNK_OVERHEAD  # delivered ones are freed when read
    assert stream.expected_ssn == 4 and not stream.buffered
    assert [m.data for m in stream.add(15, DataChunk(3, 15, 1, 4, 53, b"four")).messages] == [
        b"four"
    ]
