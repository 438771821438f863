"""What an echoed packet and a session setup cost before any of our Python runs (a scenario).

Issue 13 asks for 1,000 echo sessions per core: 50 packets/s each way per session is 50,000
echoes a second, 18 µs of CPU per echo at 90 % of a core. Part of every echo is not ours to
make faster: the kernel's receive and send on loopback, and libsrtp's unprotect and protect.
This scenario measures those parts on this host, in the same run as our echo path, so the
distance between them is the Python left to cut.

* **sendto to a live reader**: a 140-byte datagram sent with ``socket.sendto`` to a process
  blocked in ``recvmmsg`` (as pywebrtc-relay is), 20 per burst then a pause so the reader
  sleeps again (its wake-up is the sender's cost on loopback); CPU of the sender per datagram.
* **receive**: a uvloop ``DatagramProtocol`` taking 20,000 datagrams/s from a process on the
  other core; the receiver's CPU per datagram (epoll, ``recvfrom``, the callback).
* **SRTP**: ``unprotect`` then ``protect`` of a 112-byte RTP packet through pylibsrtp, the
  suite pywebrtc and Pion choose (AEAD_AES_128_GCM) and the common one
  (AES_CM_128_HMAC_SHA1_80).
* **echo, per packet**: ours is ``bench.echopath`` (the service's echo in one process, 300
  sessions, one datagram per loop turn; its ``sendto`` counted, the receive system call not,
  the sink unread); the floor beside it is the same ``sendto`` to an unread socket plus the
  SRTP pair: what remains if every line of Python on the path cost nothing.
* **setup crypto**: the public-key work of one server-side setup as ``pywebrtc-signaling``
  does it (DTLS 1.3 client: X25519MLKEM768 key share made and decapsulated, ECDSA P-256 sign,
  the client's certificate parsed and its signature verified).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from bench.harness import Case, Scenario

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

DATAGRAM = b"\x80" + bytes(139)
_READER = """
import socket, sys
from relay import batchio
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
batch = batchio.Batch(32)
while True:
    batch.recv(sock.fileno(), wait=True)
"""
_SENDER = """
import socket, sys, time
port, rate, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = b"\\x80" + bytes(139)
gap, start = 1.0 / rate, time.perf_counter()
for n in range(int(rate * seconds)):
    while time.perf_counter() < start + n * gap:
        pass
    sock.sendto(data, ("127.0.0.1", port))
"""


def _pin(core: int) -> None:
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {core})


def _child(code: str, *args: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", code, *args]
    if len(os.sched_getaffinity(0)) > 1:
        argv = ["taskset", "-c", "0", *argv]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def sendto_live_reader(count: int = 40_000, burst: int = 20) -> float:
    reader = _child(_READER)
    try:
        assert reader.stdout is not None
        port = int(reader.stdout.readline())
        _pin(1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        destination = ("127.0.0.1", port)
        cpu = 0.0
        for _ in range(count // burst):
            start = time.process_time()
            for _ in range(burst):
                sock.sendto(DATAGRAM, destination)
            cpu += time.process_time() - start
            time.sleep(0.0005)  # the reader drains and sleeps again; not counted
        sock.close()
        return 1e6 * cpu / count
    finally:
        reader.kill()
        reader.wait()


def sendto_unread(count: int = 40_000) -> float:
    _pin(1)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    destination = sink.getsockname()
    start = time.process_time()
    for _ in range(count):
        sock.sendto(DATAGRAM, destination)
    cpu = time.process_time() - start
    sock.close()
    sink.close()
    return 1e6 * cpu / count


def uvloop_receive(rate: int = 20_000, seconds: float = 2.0) -> float:
    async def measure() -> float:
        received = 0

        class Counter(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                nonlocal received
                received += 1

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Counter, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        sender = _child(_SENDER, str(port), str(rate), str(seconds))
        await asyncio.sleep(0.3)  # past the sender's start-up
        before, cpu = received, time.process_time()
        await asyncio.sleep(seconds - 0.8)
        got, used = received - before, time.process_time() - cpu
        await loop.run_in_executor(None, sender.wait)
        transport.close()
        return 1e6 * used / max(got, 1)

    _pin(1)
    return uvloop.run(measure()) if uvloop is not None else asyncio.run(measure())


def _srtp_pair(gcm: bool) -> Callable[[], float]:
    def measure(count: int = 20_000) -> float:
        from pylibsrtp import Policy, Session

        profile = (
            Policy.SRTP_PROFILE_AEAD_AES_128_GCM if gcm else Policy.SRTP_PROFILE_AES128_CM_SHA1_80
        )
        key = os.urandom(28 if gcm else 30)
        out = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
        inn = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
        other = os.urandom(len(key))  # the echo leaves under the server's own key
        back = Session(Policy(key=other, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
        payload = bytes(100)
        packets = [
            out.protect(bytes([0x80, 111]) + n.to_bytes(2, "big") + bytes(8) + payload)
            for n in range(count)
        ]
        start = time.process_time()
        for packet in packets:
            back.protect(inn.unprotect(packet))
        return 1e6 * (time.process_time() - start) / count

    return measure


def echo_path() -> float:
    from bench.echopath import measure

    coroutine = measure(300, 100, 1, 3)
    result = uvloop.run(coroutine) if uvloop is not None else asyncio.run(coroutine)
    if result["echoed"] < result["packets"]:
        raise RuntimeError(f"echo path lost packets: {result}")
    return float(result["us_per_packet_min"])


def echo_floor() -> float:
    return sendto_unread() + _srtp_pair(gcm=False)()


def setup_crypto(count: int = 200) -> float:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519

    from pywebrtc.dtls import Certificate

    theirs = Certificate.generate()
    their_key = theirs.private_key
    assert isinstance(their_key, ec.EllipticCurvePrivateKey)
    message = bytes(130)
    signature = their_key.sign(message, ec.ECDSA(hashes.SHA256()))
    ours = ec.generate_private_key(ec.SECP256R1())
    server_x = x25519.X25519PrivateKey.generate().public_key()
    cpu = 0.0
    for _ in range(count):
        start = time.process_time()
        kem = mlkem.MLKEM768PrivateKey.generate()
        cpu += time.process_time() - start
        _, ciphertext = kem.public_key().encapsulate()  # the server's part: not counted
        start = time.process_time()
        kem.decapsulate(ciphertext)
        x25519.X25519PrivateKey.generate().exchange(server_x)
        ours.sign(message, ec.ECDSA(hashes.SHA256()))
        key = x509.load_der_x509_certificate(theirs.der).public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        cpu += time.process_time() - start
    return 1e6 * cpu / count


def scenario() -> Scenario:
    floor = "the floor: sendto (unread sink) + SRTP unprotect + protect"
    return Scenario(
        name="floor",
        description=(
            "What an echoed packet and a session setup cost in system calls and C crypto "
            "alone, beside our echo path in the same run (see bench/floor.py)."
        ),
        cases=[
            Case(
                "echo, server CPU per packet (bench.echopath: 300 sessions, one datagram per "
                "loop turn, receive system call not counted) vs what no Python can avoid",
                echo_path,
                echo_floor,
                peer_name=floor,
                unit="µs",
                higher_is_better=False,
            ),
            Case(
                "sendto of a 140-byte datagram to a process blocked in recvmmsg (20 per burst)",
                sendto_live_reader,
                unit="µs",
                higher_is_better=False,
            ),
            Case(
                "sendto of a 140-byte datagram to a socket nobody reads",
                sendto_unread,
                unit="µs",
                higher_is_better=False,
            ),
            Case(
                "uvloop datagram receive at 20,000 datagrams/s (receiver CPU per datagram)",
                uvloop_receive,
                unit="µs",
                higher_is_better=False,
            ),
            Case(
                "SRTP unprotect + protect, 112-byte RTP, AES_CM_128_HMAC_SHA1_80",
                _srtp_pair(gcm=False),
                unit="µs",
                higher_is_better=False,
            ),
            Case(
                "SRTP unprotect + protect, 112-byte RTP, AEAD_AES_128_GCM",
                _srtp_pair(gcm=True),
                unit="µs",
                higher_is_better=False,
            ),
            Case(
                "public-key crypto of one server-side setup (X25519MLKEM768 keygen + decaps, "
                "X25519, ECDSA P-256 sign, certificate parse + verify)",
                setup_crypto,
                unit="µs",
                higher_is_better=False,
            ),
        ],
        repeats=3,
        notes=[
            "servers of the figures pinned to core 1, the other process (reader, sender) to "
            "core 0; CPU is process time; event loop uvloop",
            "1,000 echo sessions per core (issue 13) leave 18 µs of CPU per echo at 90 % of a "
            "core; 5× aiortc's setups per server CPU-second leave a fifth of aiortc's CPU per "
            "setup (bench signaling)",
        ],
    )
