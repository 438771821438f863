"""Video, pywebrtc vs aiortc in the same run: one 640×480 30 frames/s VP8 stream between two
peer connections of the same stack, each in a process of its own (``bench/videopeer.py``), all
packets through a userspace UDP proxy in this process (:class:`OutageProxy`).

One session per sample and stack, in this order:

* **time to first decoded frame**: from just before the sender's ``createOffer()`` until the
  first frame comes out of the receiver's remote track ``recv()`` (non-trickle offer/answer
  handed over through this process: ICE, DTLS-SRTP, the first keyframe encoded, sent, decoded).
* **CPU**: after ``WARMUP`` s, CPU seconds of the sending process (utime + stime in
  ``/proc/PID/stat``, every thread: capture of the test pattern, encode, packetize, SRTP, RTCP,
  the event loop) over ``SECONDS`` s of wall time, divided by it: % of a core for one stream;
  the same for the receiving process (SRTP, jitter buffer, decode, the application's
  ``recv()``). Both encoders are held at the same target bitrate (``BITRATE``, the start rate
  of both stacks); what each then ran at — frames the stack took from the track, bytes on the
  wire from sender to receiver (SRTP packets with their headers, RTCP, STUN), frames decoded —
  is in the notes.
* **recovery after a 1 s outage**: the proxy drops every packet both ways for ``OUTAGE`` s;
  from the end of the outage to the next correctly decoded frame, and to a steady frame rate
  again: the first correct frame after the outage from which the next 1 s holds at least 90 %
  of the frames the receiver decoded per second in the CPU window. Observed for ``OBSERVE``
  s; a stack that has not recovered by then scores ``OBSERVE`` (counted in the notes).
  Correct: from the outage on, the receiver compares each frame's luma with the pattern frame
  whose number the picture shows (``bench.videopeer.frame_error``); a frame decoded on a
  reference lost in the outage (a decoder that carries on without a keyframe) does not count,
  and the notes give how many such frames each stack showed.

The sender offers, the receiver answers; each side's SDP keeps only its first IPv4 UDP host
candidate, rewritten to a proxy port, so that no packet can take another path.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import Case, JsonChild, Scenario

BITRATE = int(os.environ.get("PYWEBRTC_BENCH_VIDEO_BITRATE", "500000"))
SECONDS = float(os.environ.get("PYWEBRTC_BENCH_VIDEO_SECONDS", "10"))
REPEATS = int(os.environ.get("PYWEBRTC_BENCH_VIDEO_REPEATS", "3"))
WARMUP = 2.0
OUTAGE = 1.0
OBSERVE = 6.0
STEADY = 0.9  # of the frame rate before the outage, over 1 s
STACKS = ("pywebrtc", "aiortc")
ROOT = Path(__file__).resolve().parent.parent
_TICK = os.sysconf("SC_CLK_TCK")


class OutageProxy:
    """A UDP relay between two endpoints: whatever ``a`` sends to ``port_for_a`` goes to ``b``
    from ``port_for_b``, and back the same way, so each side sees the other at the proxy's
    address. Datagrams from any other source are dropped. :meth:`outage` drops every datagram
    both ways for a while. Runs on a thread of its own; counts bytes each way."""

    def __init__(self, a_host: str, b_host: str) -> None:
        self._for_a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a sends here
        self._for_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # b sends here
        self._for_a.bind((b_host, 0))  # advertised to a as b's address, on b's host
        self._for_b.bind((a_host, 0))
        self.a: tuple[str, int] | None = None
        self.b: tuple[str, int] | None = None
        self.bytes_a_to_b = 0
        self.bytes_b_to_a = 0
        self.dropped = 0
        self._drop_until = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def port_for_a(self) -> tuple[str, int]:
        address: tuple[str, int] = self._for_a.getsockname()
        return address

    @property
    def port_for_b(self) -> tuple[str, int]:
        address: tuple[str, int] = self._for_b.getsockname()
        return address

    def outage(self, seconds: float) -> float:
        """Drop everything from now for ``seconds``; returns when it ends (monotonic)."""
        self._drop_until = time.monotonic() + seconds
        return self._drop_until

    def close(self) -> None:
        self._closed = True
        self._thread.join(2)
        self._for_a.close()
        self._for_b.close()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._for_a, selectors.EVENT_READ)
        selector.register(self._for_b, selectors.EVENT_READ)
        while not self._closed:
            for key, _ in selector.select(0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data, source = sock.recvfrom(65536)
                except OSError:
                    continue
                from_a = sock is self._for_a
                if source != (self.a if from_a else self.b):
                    continue
                if time.monotonic() < self._drop_until:
                    self.dropped += 1
                    continue
                target = self.b if from_a else self.a
                assert target is not None
                if from_a:
                    self.bytes_a_to_b += len(data)
                else:
                    self.bytes_b_to_a += len(data)
                (self._for_b if from_a else self._for_a).sendto(data, target)
        selector.close()


_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$")


def host_candidate(sdp: str) -> tuple[str, int]:
    """The address of the first IPv4 UDP host candidate of component 1 in ``sdp``."""
    for line in sdp.splitlines():
        m = _CANDIDATE.match(line)
        if (m and m.group(2) == "1" and m.group(3).lower() == "udp" and m.group(7) == "host"
                and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", m.group(5))):  # fmt: skip
            return m.group(5), int(m.group(6))
    raise ValueError(f"no IPv4 UDP host candidate in\n{sdp}")


def through_proxy(sdp: str, address: tuple[str, int], proxy: tuple[str, int]) -> str:
    """``sdp`` with only the candidate at ``address`` left, pointing at ``proxy`` instead."""
    lines = []
    for line in sdp.splitlines():
        m = _CANDIDATE.match(line)
        if m:
            if (m.group(5), int(m.group(6))) != address or m.group(2) != "1":
                continue
            line = (f"a=candidate:{m.group(1)} 1 {m.group(3)} {m.group(4)} {proxy[0]} {proxy[1]} "
                    f"typ host{m.group(8)}")  # fmt: skip
        elif line.startswith("c=IN IP4 "):
            line = f"c=IN IP4 {proxy[0]}"
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def video_codec(sdp: str) -> str:
    """The name of the first payload type of the first video m-section (the one in use)."""
    m = re.search(r"^m=video \d+ \S+ (\d+)", sdp, re.M)
    if m is None:
        raise ValueError("no video m-section")
    rtpmap = re.search(rf"^a=rtpmap:{m.group(1)} ([^/\s]+)", sdp, re.M)
    return rtpmap.group(1) if rtpmap else "?"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (proc(5) fields 14, 15)


def recovery(times: list[float], end: float, rate: float) -> tuple[float | None, float | None]:
    """From ``end`` (of the outage) to the first frame decoded after it, and to the first
    frame from which the next second holds ``STEADY`` × ``rate`` frames (``None``: never)."""
    after = sorted(t for t in times if t > end)
    if not after:
        return None, None
    need = STEADY * rate
    steady = None
    for i, t in enumerate(after):
        if after[-1] < t + 1.0:
            break  # the observation ends within the second
        if sum(1 for u in after[i:] if u < t + 1.0) >= need:
            steady = t - end
            break
    return after[0] - end, steady


@dataclass(slots=True)
class Session:
    """What one session of one stack measured."""

    first_frame_ms: float
    send_cpu_pct: float
    recv_cpu_pct: float
    sent_fps: float
    wire_kbps: float
    decoded_fps: float
    to_next_frame_ms: float | None
    to_steady_ms: float | None
    size: tuple[int, int]
    dropped: int  # datagrams, by the proxy during the outage
    # Frames that did not show the picture sent, decoded on a reference lost in the outage:
    # when they came out (ms after the end of the outage) and their error (frame_error).
    wrong: list[tuple[int, float]]


def _ask(child: JsonChild, **command: Any) -> dict[str, Any]:
    reply = child.ask(json.dumps(command))
    if "error" in reply:
        raise RuntimeError(f"{child.popen.args!r}: {reply['error']}")
    return reply


def session(stack: str, seconds: float = SECONDS, warmup: float = WARMUP,
            observe: float = OBSERVE) -> Session:  # fmt: skip
    """Run one sender and one receiver of ``stack`` through the proxy and measure them."""
    env = {**os.environ, "PYWEBRTC_BENCH_VIDEO_BITRATE": str(BITRATE)}
    argv = [sys.executable, "-m", "bench.videopeer", stack]
    sender = JsonChild([*argv, "send"], cwd=ROOT, env=env, close_timeout=10)
    receiver = JsonChild([*argv, "recv"], cwd=ROOT, env=env, close_timeout=10)
    proxy: OutageProxy | None = None
    try:
        offer = _ask(sender, cmd="offer")
        s_addr = host_candidate(offer["sdp"])
        proxy = OutageProxy(s_addr[0], s_addr[0])
        proxy.a = s_addr
        answer = _ask(
            receiver, cmd="offer", sdp=through_proxy(offer["sdp"], s_addr, proxy.port_for_b)
        )
        r_addr = host_candidate(answer["sdp"])
        proxy.b = r_addr
        codec = video_codec(answer["sdp"])
        if codec.upper() != "VP8":
            raise RuntimeError(f"{stack} negotiated {codec}, not VP8")
        _ask(sender, cmd="answer", sdp=through_proxy(answer["sdp"], r_addr, proxy.port_for_a))
        first = _ask(receiver, cmd="first", timeout=30)
        time.sleep(warmup)

        def mark() -> tuple[float, float, float, int, int, int]:
            return (time.monotonic(), _cpu_seconds(sender.popen.pid),
                    _cpu_seconds(receiver.popen.pid), _ask(sender, cmd="count")["frames"],
                    _ask(receiver, cmd="count")["frames"], proxy.bytes_a_to_b)  # fmt: skip

        before = mark()
        time.sleep(seconds)
        after = mark()
        wall = after[0] - before[0]
        decoded_fps = (after[4] - before[4]) / wall
        _ask(receiver, cmd="check")
        end = proxy.outage(OUTAGE)
        time.sleep(OUTAGE + observe)
        frames = _ask(receiver, cmd="times", since=end - OUTAGE)
        to_frame, to_steady = recovery(frames["times"], end, decoded_fps)
        return Session(
            first_frame_ms=(first["t"] - offer["t0"]) * 1000,
            send_cpu_pct=100 * (after[1] - before[1]) / wall,
            recv_cpu_pct=100 * (after[2] - before[2]) / wall,
            sent_fps=(after[3] - before[3]) / wall,
            wire_kbps=(after[5] - before[5]) * 8 / wall / 1000,
            decoded_fps=decoded_fps,
            to_next_frame_ms=None if to_frame is None else to_frame * 1000,
            to_steady_ms=None if to_steady is None else to_steady * 1000,
            size=(first["width"], first["height"]),
            dropped=proxy.dropped,
            wrong=[(round((t - end) * 1000), error) for t, error in frames["bad"]],
        )
    finally:
        sender.close()
        receiver.close()
        if proxy is not None:
            proxy.close()


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def summary(stack: str, sessions: list[Session]) -> str:
    """What ``stack``'s encoder and decoder ran at, medians over ``sessions``."""

    def med(value: Callable[[Session], float]) -> float:
        return statistics.median(value(s) for s in sessions)

    send_ms = med(lambda s: s.send_cpu_pct * 10 / max(s.sent_fps, 1e-9))
    recv_ms = med(lambda s: s.recv_cpu_pct * 10 / max(s.decoded_fps, 1e-9))
    never = sum(1 for s in sessions if s.to_steady_ms is None)
    width, height = sessions[0].size
    return (
        f"{stack}: the stack took {med(lambda s: s.sent_fps):.1f} frames/s from the track, sent "
        f"{med(lambda s: s.wire_kbps):.0f} kbit/s on the wire (sender → receiver: SRTP, RTCP, "
        f"STUN), the receiver decoded {med(lambda s: s.decoded_fps):.1f} frames/s of "
        f"{width}×{height}; CPU {send_ms:.2f} ms per frame taken, {recv_ms:.2f} ms per frame "
        f"decoded (medians of {len(sessions)} sessions); wrong pictures decoded from the "
        f"outage on: {[len(s.wrong) for s in sessions]}"
        + (f"; not steady within {OBSERVE:.0f} s of the outage in {never}" if never else "")
    )


@dataclass
class _Runs:
    """Sessions run on demand: sample i of any case of a stack is session i of that stack, so
    all five cases come from the same sessions (ours and aiortc's interleaved by the harness's
    first case). Each new session rewrites the notes after ``keep`` with the rates so far."""

    notes: list[str]
    keep: int
    sessions: dict[str, list[Session]] = field(default_factory=lambda: {s: [] for s in STACKS})
    taken: dict[tuple[str, str], int] = field(default_factory=dict)

    def sample(self, stack: str, case: str, value: Callable[[Session], float | None]) -> float:
        i = self.taken.get((stack, case), 0)
        self.taken[stack, case] = i + 1
        runs = self.sessions[stack]
        while len(runs) <= i:
            runs.append(session(stack))
            print(f"video: {stack} session {len(runs)}: {runs[-1]}", file=sys.stderr)
            self.notes[self.keep :] = [
                *(summary(name, done) for name, done in self.sessions.items() if done),
                f"load average (1, 5, 15 min) at the end: {_load()}",
            ]
        measured = value(runs[i])
        return OBSERVE * 1000 if measured is None else measured


def scenario() -> Scenario:
    notes: list[str] = [
        f"one stream of 640×480 at 30 frames/s, VP8 pinned at {BITRATE // 1000} kbit/s "
        f"(each stack's encoder limits set to it); CPU over {SECONDS:.0f} s after "
        f"{WARMUP:.0f} s of warm-up; each stack sends to itself, sender and receiver in "
        "separate processes; uvloop for both",
        f"load average (1, 5, 15 min) at the start: {_load()}",
    ]
    runs = _Runs(notes, len(notes))

    def case(name: str, unit: str, value: Callable[[Session], float | None]) -> Case:
        return Case(
            name,
            lambda: runs.sample("pywebrtc", name, value),
            lambda: runs.sample("aiortc", name, value),
            peer_name="aiortc ↔ aiortc",
            unit=unit,
            higher_is_better=False,
        )

    cases = [
        case("encode + send CPU, one 640×480 30 fps VP8 stream (sending process)",
             "% of a core", lambda s: s.send_cpu_pct),
        case("receive + decode CPU, same stream (receiving process)",
             "% of a core", lambda s: s.recv_cpu_pct),
        case("time to first decoded frame: createOffer → first frame out of the remote "
             "track's recv()", "ms", lambda s: s.first_frame_ms),
        case(f"{OUTAGE:.0f} s outage (all packets dropped): end of outage → next decoded "
             "frame", "ms", lambda s: s.to_next_frame_ms),
        case(f"{OUTAGE:.0f} s outage: end of outage → steady frame rate ({STEADY:.0%} of "
             "before, over 1 s)", "ms", lambda s: s.to_steady_ms),
    ]  # fmt: skip

    return Scenario(
        "video",
        "Video, pywebrtc ↔ pywebrtc vs aiortc ↔ aiortc in the same run: CPU per 640×480 "
        "30 fps VP8 stream sending and receiving, time to first frame, recovery after a 1 s "
        "outage (see bench/video.py for what each case measures).",
        cases,
        repeats=REPEATS,
        notes=notes,
    )
