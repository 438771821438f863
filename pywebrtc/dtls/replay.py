"""The anti-replay sliding window of RFC 6347 §4.1.2.6 (one per epoch)."""

from __future__ import annotations

WINDOW_SIZE = 64  # RFC 6347 §4.1.2.6 suggests a window of at least 32; 64 is common.


class ReplayWindow:
    """Remembers which of the last ``size`` sequence numbers were received.

    ``check`` is called before authentication and ``accept`` only after it, so that forged
    records cannot move the window (RFC 6347 §4.1.2.6, last paragraph).
    """

    __slots__ = ("_bits", "_top", "size")

    def __init__(self, size: int = WINDOW_SIZE) -> None:
        self.size = size
        self._top = -1
        self._bits = 0

    def check(self, seq: int) -> bool:
        """True if ``seq`` is new and not too old to tell."""
        if seq > self._top:
            return True
        offset = self._top - seq
        if offset >= self.size:
            return False
        return not (self._bits >> offset) & 1

    def accept(self, seq: int) -> None:
        if seq > self._top:
            shift = seq - self._top
            if shift >= self.size:
                self._bits = 1
            else:
                self._bits = ((self._bits << shift) | 1) & ((1 << self.size) - 1)
            self._top = seq
        else:
            self._bits |= 1 << (self._top - seq)
