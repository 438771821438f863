"""Generic NACK generation on the receiving side (RFC 4585 §6.2.1).

:class:`NackGenerator` watches the sequence numbers of one remote stream, remembers the holes,
and asks for each missing packet again every ``max(RTT, min_interval)`` until it arrives, is
asked for ``max_retries`` times, or falls more than ``max_age`` packets behind the newest (then
the jitter buffer has concealed it anyway). A jump larger than ``max_gap`` is a restart, not a
loss burst, and clears the list. Retransmissions arrive with the original sequence number
(audio uses no RTX stream), so a late arrival simply removes its entry.
"""

from __future__ import annotations

from .interceptor import Interceptor
from .packet import RtpPacket
from .receiver import SequenceUnwrapper
from .rtcp import Nack, RtcpPacket

__all__ = ["NackGenerator"]

_MAX_LOST_PER_NACK = 64  # keeps one FCI list well under an MTU


class NackGenerator(Interceptor):
    def __init__(
        self,
        local_ssrc: int,
        media_ssrc: int | None = None,
        *,
        max_retries: int = 10,
        max_age: int = 250,
        max_gap: int = 500,
        min_interval: float = 0.02,
        initial_rtt: float = 0.1,
    ) -> None:
        self.local_ssrc = local_ssrc
        self.media_ssrc = media_ssrc
        self.max_retries = max_retries
        self.max_age = max_age
        self.max_gap = max_gap
        self.min_interval = min_interval
        self.rtt = initial_rtt
        self._unwrap = SequenceUnwrapper()
        self._highest: int | None = None
        # extended sequence -> [times asked, next time to ask]
        self._missing: dict[int, list[float]] = {}
        self.nacks_sent = 0
        self.packets_requested = 0
        self.recovered = 0

    @property
    def missing(self) -> list[int]:
        """Extended sequence numbers still being asked for."""
        return sorted(self._missing)

    def incoming_rtp(self, packet: RtpPacket, now: float) -> None:
        if self.media_ssrc is None:
            self.media_ssrc = packet.ssrc
        elif packet.ssrc != self.media_ssrc:
            return
        self.receive(packet.sequence_number, now)

    def receive(self, seq: int, now: float) -> bool:
        """Account one packet's sequence number; True when it revealed a loss (then
        :meth:`deadline` is ``now``)."""
        ext = self._unwrap.unwrap(seq)
        highest = self._highest
        if highest is None:
            self._highest = ext
            return False
        if ext > highest:
            self._highest = ext
            if ext - highest > self.max_gap:
                self._missing.clear()
            elif ext - highest > 1:
                for lost in range(highest + 1, ext):
                    self._missing[lost] = [0, now]
                return True
        elif self._missing.pop(ext, None) is not None:
            self.recovered += 1
        return False

    def deadline(self) -> float | None:
        if not self._missing:
            return None
        return min(entry[1] for entry in self._missing.values())

    def poll_rtcp(self, now: float) -> list[RtcpPacket]:
        if not self._missing or self.media_ssrc is None or self._highest is None:
            return []
        oldest = self._highest - self.max_age
        interval = max(self.rtt, self.min_interval)
        due: list[int] = []
        for ext, entry in list(self._missing.items()):
            if ext < oldest or entry[0] >= self.max_retries:
                del self._missing[ext]
            elif entry[1] <= now:
                entry[0] += 1
                entry[1] = now + interval
                due.append(ext)
        if not due:
            return []
        due.sort()
        out: list[RtcpPacket] = []
        for i in range(0, len(due), _MAX_LOST_PER_NACK):
            chunk = [e & 0xFFFF for e in due[i : i + _MAX_LOST_PER_NACK]]
            out.append(Nack.from_lost(self.local_ssrc, self.media_ssrc, chunk))
        self.nacks_sent += len(out)
        self.packets_requested += len(due)
        return out
