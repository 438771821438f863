"""Reception statistics of one remote RTP source (RFC 3550 §6.4.1, §A.1, §A.3, §A.8).

:class:`ReceiveStatistics` follows the RFC 3550 appendix: the extended highest sequence number
(cycles + max_seq, §A.1), the expected and lost counts and the per-interval fraction lost
(§A.3), and the interarrival jitter estimate J += (|D| - J) / 16 (§A.8). A jump of more than
``MAX_DROPOUT`` is treated as a restart only when the next packet confirms it (§A.1), so one
stray packet does not reset the stream. The probation period of §A.1 is left out: WebRTC
streams are bound to an SSRC by signaling or by the first authenticated SRTP packet, so the
first packet is trusted. ``update`` works on plain ints so the forwarding path builds no objects.

:class:`SequenceUnwrapper` extends 16-bit sequence numbers to 64-bit counters for the NACK
generator, the jitter buffer and TWCC.
"""

from __future__ import annotations

from .rtcp import ReportBlock

__all__ = ["MAX_DROPOUT", "MAX_MISORDER", "ReceiveStatistics", "SequenceUnwrapper"]

MAX_DROPOUT = 3000  # RFC 3550 §A.1
MAX_MISORDER = 100  # RFC 3550 §A.1
_SEQ_MOD = 1 << 16


class SequenceUnwrapper:
    """Maps 16-bit sequence numbers to an unbounded counter, nearest to the last one seen."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: int | None = None

    def unwrap(self, seq: int) -> int:
        last = self._last
        if last is None:
            self._last = seq
            return seq
        delta = (seq - last) & 0xFFFF
        if delta >= 0x8000:
            delta -= _SEQ_MOD
        value = last + delta
        if value > last:
            self._last = value
        return value


class ReceiveStatistics:
    """RFC 3550 reception statistics for one SSRC."""

    __slots__ = (
        "_bad_seq",
        "_expected_prior",
        "_jitter",
        "_received_prior",
        "_transit",
        "base_seq",
        "bytes_received",
        "clock_rate",
        "cycles",
        "duplicates",
        "last_arrival",
        "last_sr",
        "last_sr_time",
        "max_seq",
        "packets_received",
        "ssrc",
    )

    def __init__(self, ssrc: int, clock_rate: int) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.base_seq = -1  # -1: no packet yet
        self.max_seq = 0
        self.cycles = 0
        self.packets_received = 0
        self.bytes_received = 0
        self.duplicates = 0
        self.last_arrival: float | None = None
        self._bad_seq = -1
        self._expected_prior = 0
        self._received_prior = 0
        self._transit: float | None = None
        self._jitter = 0.0
        self.last_sr = 0  # middle 32 bits of the last SR's NTP timestamp (LSR)
        self.last_sr_time: float | None = None

    def _restart(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.cycles = 0
        self._bad_seq = -1
        self._expected_prior = 0
        self._received_prior = 0
        self.packets_received = 0
        self._transit = None

    def update(self, seq: int, timestamp: int, arrival: float, size: int) -> int:
        """Account one packet; return its extended sequence number, or -1 when it is rejected
        as a jump that the next packet has not (yet) confirmed."""
        if self.base_seq < 0:
            self._restart(seq)
            ext = seq
        else:
            max_seq = self.max_seq
            udelta = (seq - max_seq) & 0xFFFF
            if udelta == 0:
                self.duplicates += 1
                ext = self.cycles + seq
            elif udelta < MAX_DROPOUT:
                if seq < max_seq:
                    self.cycles += _SEQ_MOD
                self.max_seq = seq
                ext = self.cycles + seq
            elif udelta <= _SEQ_MOD - MAX_MISORDER:
                if seq != self._bad_seq:
                    self._bad_seq = (seq + 1) & 0xFFFF
                    return -1
                self._restart(seq)  # two sequential packets: the source restarted
                ext = seq
            else:
                # Reordered (or a duplicate of an older packet): counted, max unchanged.
                ext = self.cycles + seq - (_SEQ_MOD if seq > max_seq else 0)
        self.packets_received += 1
        self.bytes_received += size
        self.last_arrival = arrival
        # §A.8, in timestamp units; the float keeps the 1/16 steps exact enough.
        transit = arrival * self.clock_rate - timestamp
        previous = self._transit
        if previous is not None:
            d = transit - previous
            # RTP timestamps wrap modulo 2**32; a wrap shows as a huge D.
            if d > 0x80000000:
                d -= 0x100000000
            elif d < -0x80000000:
                d += 0x100000000
            self._jitter += (abs(d) - self._jitter) / 16.0
        self._transit = transit
        return ext

    @property
    def extended_highest_sequence(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return 0 if self.base_seq < 0 else self.extended_highest_sequence - self.base_seq + 1

    @property
    def packets_lost(self) -> int:
        """Cumulative lost (§A.3): expected minus received, negative when duplicates arrive."""
        return self.expected - self.packets_received

    @property
    def jitter(self) -> int:
        """Interarrival jitter in timestamp units (§6.4.1)."""
        return int(self._jitter)

    @property
    def jitter_seconds(self) -> float:
        return self._jitter / self.clock_rate

    def record_sender_report(self, ntp_timestamp: int, now: float) -> None:
        self.last_sr = (ntp_timestamp >> 16) & 0xFFFFFFFF
        self.last_sr_time = now

    def report_block(self, now: float) -> ReportBlock:
        """The reception report about this source, closing a report interval (§A.3)."""
        expected = self.expected
        expected_interval = expected - self._expected_prior
        self._expected_prior = expected
        received_interval = self.packets_received - self._received_prior
        self._received_prior = self.packets_received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            fraction = 0
        else:
            fraction = min((lost_interval << 8) // expected_interval, 255)
        lost = max(min(self.packets_lost, 0x7FFFFF), -0x800000)  # signed 24 bits
        dlsr = 0
        if self.last_sr_time is not None:
            dlsr = min(round((now - self.last_sr_time) * 65536), 0xFFFFFFFF)
        return ReportBlock(
            self.ssrc,
            fraction,
            lost,
            self.extended_highest_sequence & 0xFFFFFFFF,
            min(self.jitter, 0xFFFFFFFF),
            self.last_sr,
            dlsr,
        )
