"""``python -m bench.echopath [--browser] [SESSIONS [ROUNDS [BATCH [REPEATS]]]]``: server CPU
per echoed audio packet on the per-packet path of ``pywebrtc-signaling --app echo``, in one
process, with no load generator and no other process to share the core with.

A quick, low-noise view of what the ``signaling`` scenario's echo ceiling measures: SESSIONS
(50) pywebrtc clients set up sessions with an in-process :class:`signaling.sessions.SessionManager`
(``--app echo``, relays in front) on loopback; then SRTP packets made with each client's own
keys (one pre-encoded 20 ms Opus frame, a 12-byte RTP header; offered with no header extension
and no RTCP feedback: as ``bench/siggen`` sends and offers) are
handed to the transceiver socket framed as a relay frames them, ROUNDS (200) per session,
``BATCH`` (8) datagrams per event-loop iteration, REPEATS (5) times (the least and the median
are reported). Each echo goes back framed to a sink socket
nobody reads. The figure is process CPU (``time.process_time``) over each phase per packet
received and echoed; the socket's receive system call is not in it (the datagrams are handed
to ``datagram_received``), the echo's ``sendto`` is. Every packet must be echoed.

``--browser`` (or ``ECHOPATH_BROWSER=1``) measures what a browser's session costs instead: the
clients' offers keep their ``a=extmap`` and ``a=rtcp-fb`` lines (audio level, abs-send-time,
transport-wide sequence number and sdes:mid; NACK and transport-cc feedback), so the server
generates transport-cc feedback, keeps a retransmission buffer, numbers what it sends and runs
the bandwidth estimator; and each packet carries the header extensions Chromium puts on Opus
once the MID is acknowledged: a one-byte RFC 8285 block with the transport-wide sequence number
and then the audio level (libwebrtc reserves the former when it allocates the packet and sets
the latter with the payload; abs-send-time it filters out beside transport-cc), 8 bytes with
padding, at the ids the client negotiated. ``feedback_sent`` counts the server's transport-cc
feedback packets (0 without ``--browser``).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import sys
import time
from typing import Any

from pywebrtc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from pywebrtc.dtls import Certificate
from pywebrtc.framing import encode_address
from pywebrtc.jsep.audio import NegotiatedAudio
from signaling.echo import echo
from signaling.metrics import Metrics
from signaling.sessions import ServiceConfig, SessionManager

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]


async def _connect(
    manager: SessionManager, configuration: RTCConfiguration, browser: bool
) -> RTCPeerConnection:
    pc = RTCPeerConnection(configuration)
    pc.addTransceiver("audio", "sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.localDescription is not None
    offer = pc.localDescription.sdp
    if not browser:
        # Offered as bench/siggen's Pion offers: Opus with no header extension or RTCP feedback.
        offer = "".join(
            line
            for line in offer.splitlines(keepends=True)
            if not line.startswith(("a=extmap:", "a=rtcp-fb:"))
        )
    _, answer = await manager.create(offer, "offer")
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    for _ in range(500):
        if pc.connectionState == "connected" and pc._session and pc._session.srtp is not None:
            return pc
        if pc._session is not None and pc._session.media.keys is not None:
            pc._session._ensure_srtp()
        await asyncio.sleep(0.01)
    raise RuntimeError(f"client not connected: {pc.connectionState}")


def _packets(pc: RTCPeerConnection, rounds: int, payload: bytes, browser: bool) -> list[bytes]:
    transceiver = pc.getTransceivers()[0]
    negotiated = transceiver.negotiated
    assert isinstance(negotiated, NegotiatedAudio) and negotiated.send_codec is not None
    session = pc._session
    assert session is not None and session.srtp is not None
    local = session.agent.selected_pair(1)
    assert local is not None
    header = encode_address(local.local_base)
    pt, ssrc = negotiated.send_codec.payload_type, transceiver.sender.ssrc
    ids = negotiated.extension_ids
    if browser and (ids.transport_cc is None or ids.audio_level is None):
        raise RuntimeError(f"the server did not take transport-cc and audio level: {ids}")
    out = []
    for n in range(rounds):
        if browser:
            assert ids.transport_cc is not None and ids.audio_level is not None
            # RFC 8285 §4.2: 0xBEDE, 2 words; id|len-1, value; 3 bytes of padding.
            rtp = struct.pack(
                "!BBHIIHHBHBB3x", 0x90, pt, n + 1, 960 * n, ssrc, 0xBEDE, 2,
                ids.transport_cc << 4 | 1, (n + 1) & 0xFFFF, ids.audio_level << 4, 0x80 | 30,
            )  # fmt: skip
        else:
            rtp = struct.pack("!BBHII", 0x80, pt, n + 1, 960 * n, ssrc)
        out.append(header + bytes(session.srtp.outbound.protect_rtp(rtp + payload)))
    return out


async def measure(
    sessions: int = 50,
    rounds: int = 200,
    batch: int = 8,
    repeats: int = 5,
    *,
    browser: bool = False,
) -> dict[str, Any]:
    from bench.signaling import _opus_frame

    config = ServiceConfig(relayed=True, max_sessions=sessions + 1)
    manager = SessionManager(config, echo, Metrics())
    await manager.start()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    relay = sink.getsockname()
    configuration = RTCConfiguration(iceServers=[], certificates=[Certificate.generate()])
    clients = [await _connect(manager, configuration, browser) for _ in range(sessions)]
    frame = _opus_frame()
    streams = [_packets(pc, rounds * repeats, frame, browser) for pc in clients]
    echoed = sessions * rounds
    assert manager.socket is not None
    receive = manager.socket.datagram_received
    await asyncio.sleep(0.2)
    figures = []
    for repeat in range(repeats):
        sent_before = manager._rtp_totals()[1]
        cpu = time.process_time()
        pending = 0
        for n in range(repeat * rounds, (repeat + 1) * rounds):
            for stream in streams:
                receive(stream[n], relay)
                pending += 1
                if pending == batch:
                    pending = 0
                    await asyncio.sleep(0)
        await asyncio.sleep(0)
        figures.append(1e6 * (time.process_time() - cpu) / (sessions * rounds))
        echoed = min(echoed, manager._rtp_totals()[1] - sent_before)
    feedback = 0
    if browser:  # the transport-cc feedback the server sent (the last is due within 100 ms)
        await asyncio.sleep(0.15)
        for entry in manager._entries.values():
            for transceiver in entry.session.pc.getTransceivers():
                audio = transceiver.session
                if audio is not None and audio.twcc is not None:
                    feedback += audio.twcc.feedback_sent
    for pc in clients:
        await pc.close()
    await manager.close()
    sink.close()
    figures.sort()
    return {
        "browser": browser,
        "sessions": sessions,
        "packets": sessions * rounds,
        "echoed": echoed,
        "us_per_packet_min": round(figures[0], 2),
        "us_per_packet_median": round(figures[len(figures) // 2], 2),
        "feedback_sent": feedback,
    }


def main(argv: list[str]) -> None:
    browser = "--browser" in argv or os.environ.get("ECHOPATH_BROWSER", "") not in ("", "0")
    numbers = [int(a) for a in argv if a != "--browser"]
    coroutine = measure(*numbers, browser=browser)
    result = uvloop.run(coroutine) if uvloop is not None else asyncio.run(coroutine)
    print(json.dumps(result))
    if result["echoed"] < result["packets"]:
        raise SystemExit("packets not echoed")


if __name__ == "__main__":
    main(sys.argv[1:])
