"""``python -m bench.videopeer STACK ROLE``: one side of ``python -m bench video``, one peer
connection in a process of its own so that its CPU time is its own.

STACK is ``pywebrtc`` or ``aiortc``; the code below is the same for both (the aiortc-compatible
API: ``addTrack`` of a ``VideoStreamTrack`` subclass, the ``track`` event, ``recv()`` of
``av.VideoFrame``), only the imports differ. ROLE is ``send`` (the offerer: adds a track of a
moving 640×480 test pattern paced at 30 frames/s by this module, the same pacer for both stacks)
or ``recv`` (the answerer: reads every frame of the remote track and notes when it came out of
``recv()``, on ``time.monotonic()``, which is the same clock in every process on Linux).

The bitrate is pinned for the whole run at ``PYWEBRTC_BENCH_VIDEO_BITRATE`` (500 kbit/s, the
start rate of both stacks) by setting each stack's VP8 encoder limits to it: aiortc otherwise
follows the receiver's REMB between 250 kbit/s and 1.5 Mbit/s, pywebrtc its bandwidth
estimator.

Driven over stdin/stdout by :class:`bench.harness.JsonChild`: one JSON command a line in, one
JSON line out. Sender: ``{"cmd": "offer"}`` → ``{"t0", "sdp"}`` (``t0`` just before
``createOffer``), ``{"cmd": "answer", "sdp"}`` → ``{}``, ``{"cmd": "count"}`` →
``{"frames"}`` (frames the stack took from the track). Receiver: ``{"cmd": "offer", "sdp"}`` →
``{"sdp"}`` (the answer), ``{"cmd": "first"}`` → ``{"t", "width", "height"}`` once a frame is
out, ``{"cmd": "count"}`` → ``{"frames"}``, ``{"cmd": "check"}`` → ``{}`` (from now on
each frame is compared with the pattern frame it shows, :func:`frame_error`; not during the
CPU window, it costs ~0.1 ms a frame), ``{"cmd": "times", "since"}`` → ``{"times", "bad"}``
(when correct frames came out since then, and when incorrect ones did with their error; before
``check`` every frame counts as correct).
End of stdin closes the peer connection and exits.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import os
import sys
import time
from typing import Any

import av

BITRATE = int(os.environ.get("PYWEBRTC_BENCH_VIDEO_BITRATE", "500000"))
WIDTH, HEIGHT, FPS = 640, 480, 30
CLOCK = 90000
PERIOD = 60  # frames in one cycle of the pattern

# Six bars in BT.601 video range (Y, Cb, Cr): white, yellow, cyan, green, magenta, red.
_BARS = [(180, 128, 128), (162, 44, 142), (131, 156, 44), (112, 72, 58), (84, 184, 198),
         (65, 100, 212)]  # fmt: skip


MARK_BITS, MARK_SIDE = 6, 32  # the frame index mod 64 as 32×32 blocks at the bottom left
STEP = 16  # the correctness check compares every 16th pixel of every 16th row
GOOD = 8.0  # the most mean absolute luma error of a correct frame (measured: 0.3-2 at
# 500 kbit/s; 16-50 for frames decoded on a reference lost in a 1 s gap)


def _pattern(index: int) -> tuple[bytes, bytes, bytes]:
    """Frame ``index`` (< PERIOD) of the test pattern: colour bars scrolling left, once round
    in PERIOD frames, over the top two thirds, a luma ramp scrolling right below, a white
    64×64 square bouncing across the picture above the bottom strip, and ``index`` in binary
    as black and white blocks in that strip's left corner. Planes of yuv420p."""
    shift = index % PERIOD * WIDTH // PERIOD
    bar = WIDTH // len(_BARS)

    def bars_row(plane: int, width: int, scale: int) -> bytes:
        row = bytes(_BARS[min(x * scale // bar, len(_BARS) - 1)][plane] for x in range(width))
        s = shift // scale
        return row[s:] + row[:s]

    ramp = bytes(16 + (x * 219) // WIDTH for x in range(WIDTH))
    ramp = ramp[-shift:] + ramp[:-shift] if shift else ramp
    top = HEIGHT * 2 // 3
    half = WIDTH // 2
    luma = bytearray(bars_row(0, WIDTH, 1) * top + ramp * (HEIGHT - top))
    grey = bytes([128]) * half * ((HEIGHT - top) // 2)
    cb = bytearray(bars_row(1, half, 2) * (top // 2) + grey)
    cr = bytearray(bars_row(2, half, 2) * (top // 2) + grey)
    phase = index % PERIOD
    bounce = phase if phase < PERIOD // 2 else PERIOD - phase  # 0 .. PERIOD/2 and back
    x0 = bounce * (WIDTH - 64) // (PERIOD // 2)
    y0 = bounce * (HEIGHT - MARK_SIDE - 64) // (PERIOD // 2)
    for y in range(y0, y0 + 64):
        luma[y * WIDTH + x0 : y * WIDTH + x0 + 64] = b"\xeb" * 64
    for y in range(y0 // 2, y0 // 2 + 32):
        cb[y * half + x0 // 2 : y * half + x0 // 2 + 32] = b"\x80" * 32
        cr[y * half + x0 // 2 : y * half + x0 // 2 + 32] = b"\x80" * 32
    for bit in range(MARK_BITS):
        value = b"\xeb" if index >> bit & 1 else b"\x10"
        for y in range(HEIGHT - MARK_SIDE, HEIGHT):
            x = bit * MARK_SIDE
            luma[y * WIDTH + x : y * WIDTH + x + MARK_SIDE] = value * MARK_SIDE
    return bytes(luma), bytes(cb), bytes(cr)


def _samples(luma: bytes, line_size: int) -> bytes:
    """The luma pixels the correctness check compares."""
    return b"".join(
        luma[y * line_size + STEP // 2 : y * line_size + WIDTH : STEP]
        for y in range(STEP // 2, HEIGHT, STEP)
    )


def frame_error(frame: av.VideoFrame, expected: list[bytes]) -> float:
    """Mean absolute luma error of a decoded frame against the pattern frame whose index its
    blocks show (``expected``: :func:`_samples` of each pattern frame). A frame decoded from
    a broken reference (after loss, before the next keyframe) scores high."""
    plane = frame.planes[0]
    luma = bytes(plane)
    row = (HEIGHT - MARK_SIDE // 2) * plane.line_size
    index = sum(1 << bit for bit in range(MARK_BITS)
                if luma[row + bit * MARK_SIDE + MARK_SIDE // 2] > 128)  # fmt: skip
    got = _samples(luma, plane.line_size)
    want = expected[index % PERIOD]
    return sum(abs(a - b) for a, b in zip(got, want, strict=True)) / len(want)


def pattern_frame(index: int, planes: list[tuple[bytes, bytes, bytes]]) -> av.VideoFrame:
    """A new frame (the stack may keep or change it) holding frame ``index`` of the pattern,
    stamped on the 90 kHz clock as aiortc's tracks stamp theirs."""
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    for plane, data in zip(frame.planes, planes[index % PERIOD], strict=True):
        plane.update(data)
    frame.pts = index * (CLOCK // FPS)
    frame.time_base = fractions.Fraction(1, CLOCK)
    return frame


def _stack(name: str) -> tuple[Any, Any, Any]:
    """(new peer connection, RTCSessionDescription, VideoStreamTrack) of ``name``, with the
    VP8 encoder's bitrate pinned at BITRATE."""
    if name == "aiortc":
        import aiortc
        import aiortc.codecs.vpx as vpx

        vpx.DEFAULT_BITRATE = vpx.MIN_BITRATE = vpx.MAX_BITRATE = BITRATE

        def aiortc_pc() -> Any:
            return aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))

        return aiortc_pc, aiortc.RTCSessionDescription, aiortc.VideoStreamTrack
    import pywebrtc
    import pywebrtc.media.video.codecs as codecs

    codecs.DEFAULT_BITRATE = codecs.MIN_BITRATE = codecs.MAX_BITRATE = BITRATE
    return pywebrtc.RTCPeerConnection, pywebrtc.RTCSessionDescription, pywebrtc.VideoStreamTrack


async def _main(stack: str, role: str) -> None:
    new_pc, description, base_track = _stack(stack)
    loop = asyncio.get_running_loop()
    pc = new_pc()
    state: dict[str, Any] = {"frames": 0, "times": [], "size": (0, 0), "check": None, "bad": []}
    first: asyncio.Future[None] = loop.create_future()
    tasks: list[asyncio.Task[None]] = []

    if role == "send":
        planes = [_pattern(i) for i in range(PERIOD)]

        class Pattern(base_track):  # type: ignore[misc, valid-type]
            """The test pattern at 30 frames/s; the schedule is anchored at the first frame,
            so a late frame is made up by the next one."""

            start: float | None = None

            async def recv(self) -> av.VideoFrame:
                index = state["frames"]
                if self.start is None:
                    self.start = loop.time()
                else:
                    wait = self.start + index / FPS - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                state["frames"] = index + 1
                return pattern_frame(index, planes)

        pc.addTrack(Pattern())
    else:

        async def drain(track: Any) -> None:
            while True:
                try:
                    frame = await track.recv()
                except Exception:  # MediaStreamError: the track ended
                    return
                now = time.monotonic()
                state["frames"] += 1
                error = 0.0 if state["check"] is None else frame_error(frame, state["check"])
                if error > GOOD:
                    state["bad"].append((now, round(error, 1)))
                else:
                    state["times"].append(now)
                if not first.done():
                    state["size"] = (frame.width, frame.height)
                    first.set_result(None)

        def on_track(track: Any) -> None:
            if track.kind == "video":
                tasks.append(asyncio.ensure_future(drain(track)))

        pc.on("track", on_track)

    async def handle(command: dict[str, Any]) -> dict[str, Any]:
        cmd = command["cmd"]
        if cmd == "offer" and role == "send":
            t0 = time.monotonic()
            await pc.setLocalDescription(await pc.createOffer())
            return {"t0": t0, "sdp": pc.localDescription.sdp}
        if cmd == "answer" and role == "send":
            await pc.setRemoteDescription(description(command["sdp"], "answer"))
            return {}
        if cmd == "offer":
            await pc.setRemoteDescription(description(command["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            return {"sdp": pc.localDescription.sdp}
        if cmd == "first":
            await asyncio.wait_for(asyncio.shield(first), command.get("timeout", 30))
            width, height = state["size"]
            return {"t": state["times"][0], "width": width, "height": height}
        if cmd == "count":
            return {"frames": state["frames"]}
        if cmd == "check":
            state["check"] = [_samples(_pattern(i)[0], WIDTH) for i in range(PERIOD)]
            return {}
        if cmd == "times":
            since = command["since"]
            return {"times": [t for t in state["times"] if t >= since],
                    "bad": [bad for bad in state["bad"] if bad[0] >= since]}  # fmt: skip
        raise ValueError(f"unknown command {command!r}")

    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        try:
            reply = await handle(json.loads(line))
        except Exception as exc:  # reported to the harness, which raises it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    for task in tasks:
        task.cancel()
    await pc.close()


def main() -> None:
    stack, role = sys.argv[1], sys.argv[2]
    assert stack in ("pywebrtc", "aiortc") and role in ("send", "recv"), sys.argv
    try:
        import uvloop

        uvloop.run(_main(stack, role))
    except ImportError:  # pragma: no cover
        asyncio.run(_main(stack, role))
    sys.stdout.flush()
    os._exit(0)  # without waiting for the stacks' executor threads


if __name__ == "__main__":
    main()
