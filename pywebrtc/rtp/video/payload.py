"""What the video payload formats share: the depacketized view of one RTP payload that the
frame assembler works on, and the split of a frame into near-equal packets."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PayloadChunk", "split_sizes"]


@dataclass(frozen=True, slots=True)
class PayloadChunk:
    """One RTP payload with its payload descriptor read: ``data`` is the codec bitstream it
    carries, ``start`` says it begins a frame, ``keyframe`` (meaningful when ``start``) says the
    frame decodes on its own."""

    start: bool
    keyframe: bool
    picture_id: int | None
    data: bytes


def split_sizes(total: int, room: int) -> list[int]:
    """Sizes of the fewest pieces of at most ``room`` bytes that hold ``total`` bytes, as equal
    as possible (the larger ones first), as libwebrtc does: one short last packet costs as many
    packets and makes a worse fit for the pacer."""
    count = -(-total // room)
    base, extra = divmod(total, count)
    return [base + 1] * extra + [base] * (count - extra)
