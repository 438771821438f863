"""What the video payload formats share: the depacketized view of one RTP payload that the
frame assembler works on, a reader for their descriptors, and the split of a frame into
near-equal packets."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PayloadDescriptorError

__all__ = ["DescriptorReader", "PayloadChunk", "split_sizes"]


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


class DescriptorReader:
    """Reads a payload descriptor byte by byte; running out raises
    :class:`~pywebrtc.rtp.PayloadDescriptorError` naming the codec and the field."""

    __slots__ = ("codec", "data", "pos")

    def __init__(self, data: bytes, codec: str) -> None:
        self.data = data
        self.codec = codec
        self.pos = 0

    def byte(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise PayloadDescriptorError(f"{self.codec} descriptor truncated in {what}")
        self.pos += 1
        return self.data[self.pos - 1]

    def picture_id(self) -> tuple[int, bool]:
        """The picture ID VP8 and VP9 share: 7 bits, or 15 when the M bit is set; and that bit."""
        b = self.byte("picture ID")
        if b & 0x80:
            return (b & 0x7F) << 8 | self.byte("picture ID"), True
        return b, False
