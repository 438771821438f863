"""Transport-wide congestion control feedback, receiving side
(draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).

:class:`TwccFeedback` reads the transport-wide sequence number extension of every packet on a
transport, records the arrival time, and every ``interval`` (100 ms, as libwebrtc does for
audio-only calls) sends one :class:`~pywebrtc.rtp.rtcp.TransportCcFeedback` covering every
sequence number since the last feedback, missing ones reported as not received. A packet that
arrives after its number was reported is dropped from feedback (counted as ``late``).
"""

from __future__ import annotations

from .errors import RtpParseError
from .interceptor import Interceptor
from .packet import RtpPacket
from .receiver import SequenceUnwrapper
from .rtcp import RtcpPacket, TransportCcFeedback

__all__ = ["TwccFeedback"]

_MAX_PACKETS_PER_FEEDBACK = 1000  # keeps a feedback packet well under an MTU-sized datagram
_MAX_SPAN = 0x4000  # a larger jump is a restart of the sender's counter


class TwccFeedback(Interceptor):
    def __init__(self, local_ssrc: int, extension_id: int, *, interval: float = 0.1) -> None:
        self.local_ssrc = local_ssrc
        self.extension_id = extension_id
        self.interval = interval
        self.media_ssrc = 0
        self._unwrap = SequenceUnwrapper()
        self._arrivals: dict[int, float] = {}
        self._next_unreported: int | None = None
        self._next_feedback: float | None = None
        self._count = 0
        self.late = 0
        self.malformed = 0  # packets whose extension block could not be read
        self.feedback_sent = 0

    def incoming_rtp(self, packet: RtpPacket, now: float) -> None:
        try:
            value = packet.extension(self.extension_id)
        except RtpParseError:  # an element runs past its block: counted, not raised
            self.malformed += 1
            return
        if value is None or len(value) != 2:
            return
        self.record(int.from_bytes(value), packet.ssrc, now)

    def record(self, transport_seq: int, ssrc: int, now: float) -> None:
        ext = self._unwrap.unwrap(transport_seq)
        start = self._next_unreported
        if start is None:
            self._next_unreported = start = ext
        if ext < start:
            self.late += 1
            return
        if ext - start > _MAX_SPAN:
            self._arrivals.clear()
            self._next_unreported = ext
        self.media_ssrc = ssrc
        self._arrivals.setdefault(ext, now)
        if self._next_feedback is None:
            self._next_feedback = now + self.interval

    def deadline(self) -> float | None:
        return self._next_feedback

    def poll_rtcp(self, now: float) -> list[RtcpPacket]:
        if self._next_feedback is None or now < self._next_feedback:
            return []
        self._next_feedback = None
        arrivals = self._arrivals
        start = self._next_unreported
        if not arrivals or start is None:
            return []
        last = max(arrivals)
        out: list[RtcpPacket] = []
        while start <= last:
            end = min(last, start + _MAX_PACKETS_PER_FEEDBACK - 1)
            items = [(seq & 0xFFFF, arrivals.pop(seq, None)) for seq in range(start, end + 1)]
            # Feedback must start and end with received packets to be useful to the sender.
            while items and items[-1][1] is None:
                items.pop()
            if items:
                out.append(
                    TransportCcFeedback.from_arrivals(
                        self.local_ssrc, self.media_ssrc, items, feedback_count=self._count
                    )
                )
                self._count = (self._count + 1) & 0xFF
            start = end + 1
        self._next_unreported = last + 1
        self.feedback_sent += len(out)
        return out
