"""``python -m pywebrtc.dtls client HOST:PORT`` / ``server [HOST:]PORT``: an s_client-like tool.

After the handshake it prints the negotiated version, cipher suite, SRTP profile, the peer's
fingerprint and the EXTRACTOR-dtls_srtp keying material, then relays stdin to the peer and the
peer's application data to stdout until EOF or close_notify. Exit status 1 if the handshake
fails (for example on a fingerprint mismatch).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from pywebrtc.dtls.aio import DtlsSession, connect, listen
from pywebrtc.dtls.certificate import Certificate, Fingerprint
from pywebrtc.dtls.connection import SRTP_EXPORTER_LABEL, DtlsConfig
from pywebrtc.dtls.errors import DtlsError
from pywebrtc.dtls.extensions import NamedGroup, SrtpProfile
from pywebrtc.dtls.messages13 import DTLS_1_3
from pywebrtc.dtls.record import DTLS_1_2

# OpenSSL's spellings (-use_srtp) are accepted next to the RFC names.
_OPENSSL_PROFILES = {
    "SRTP_AES128_CM_SHA1_80": SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80,
    "SRTP_AES128_CM_SHA1_32": SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32,
}


def parse_profiles(text: str) -> tuple[SrtpProfile, ...]:
    out: list[SrtpProfile] = []
    for name in filter(None, text.replace(",", ":").split(":")):
        name = name.strip().upper()
        if name in _OPENSSL_PROFILES:
            out.append(_OPENSSL_PROFILES[name])
        elif name in SrtpProfile.__members__:
            out.append(SrtpProfile[name])
        else:
            raise argparse.ArgumentTypeError(f"unknown SRTP profile {name!r}")
    return tuple(out)


def parse_address(text: str, need_host: bool) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        if need_host:
            raise argparse.ArgumentTypeError("expected HOST:PORT")
        host = "0.0.0.0"
    return host.strip("[]") or "0.0.0.0", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pywebrtc.dtls", description=__doc__)
    parser.add_argument("role", choices=["client", "server"])
    parser.add_argument("address", help="client: HOST:PORT; server: [HOST:]PORT")
    parser.add_argument("--cert-type", choices=["ecdsa", "rsa"], default="ecdsa")
    parser.add_argument("--cert", type=Path, help="PEM certificate (default: generate one)")
    parser.add_argument("--key", type=Path, help="PEM private key for --cert")
    parser.add_argument(
        "--srtp-profiles",
        type=parse_profiles,
        default=None,
        help="colon-separated, e.g. SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
    )
    parser.add_argument(
        "--fingerprint",
        action="append",
        default=[],
        help='expected peer fingerprint, e.g. "sha-256 AB:CD:…" (repeatable)',
    )
    parser.add_argument("--keymatexportlen", type=int, default=60)
    parser.add_argument("--mtu", type=int, default=1200)
    parser.add_argument("--timeout", type=float, default=1.0, help="initial retransmit timeout")
    parser.add_argument("--no-cookie", action="store_true", help="server: skip HelloVerifyRequest")
    parser.add_argument(
        "--dtls13",
        action="store_true",
        help="offer and accept DTLS 1.3 (RFC 9147) as well as 1.2",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _relay_stdin(session: DtlsSession) -> None:
    loop = asyncio.get_running_loop()
    while True:
        chunk = await loop.run_in_executor(None, os.read, sys.stdin.fileno(), 16384)
        if not chunk:
            return
        session.send(chunk)


async def _relay_peer(session: DtlsSession) -> None:
    while (data := await session.recv()) is not None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


async def run(args: argparse.Namespace) -> int:
    if args.cert is not None:
        key_path = args.key or args.cert
        certificate = Certificate.from_pem(args.cert.read_bytes(), key_path.read_bytes())
    else:
        certificate = Certificate.generate(args.cert_type)
    options: dict[str, object] = {}
    if args.srtp_profiles is not None:
        options["srtp_profiles"] = args.srtp_profiles
    config = DtlsConfig(
        certificate,
        remote_fingerprints=tuple(Fingerprint.parse(f) for f in args.fingerprint),
        mtu=args.mtu,
        initial_timeout=args.timeout,
        cookie_exchange=not args.no_cookie,
        versions=(DTLS_1_3, DTLS_1_2) if args.dtls13 else (DTLS_1_2,),
        **options,  # type: ignore[arg-type]
    )
    _print(f"Local fingerprint: {certificate.fingerprint()}")
    if args.role == "client":
        host, port = parse_address(args.address, need_host=True)
        session = await connect(host, port, config)
    else:
        host, port = parse_address(args.address, need_host=False)
        session, (bound_host, bound_port) = await listen(host, port, config)
        _print(f"Listening on {bound_host}:{bound_port}")
    try:
        try:
            done = await session.handshake()
        except DtlsError as exc:
            _print(f"Handshake failed: {exc}")
            return 1
        conn = session.conn
        assert conn is not None
        _print("Protocol: DTLSv1.3" if done.version == DTLS_1_3 else "Protocol: DTLSv1.2")
        if done.group is not None:
            _print(f"Key exchange group: {NamedGroup(done.group).name}")
        _print(f"Cipher suite: {done.cipher_suite}")
        profile = done.srtp_profile.name if done.srtp_profile is not None else "none"
        _print(f"SRTP profile: {profile}")
        _print(f"Peer fingerprint: {done.peer_fingerprint}")
        _print(f"Extended master secret: {'yes' if done.extended_master_secret else 'no'}")
        material = conn.export_keying_material(SRTP_EXPORTER_LABEL, args.keymatexportlen)
        _print(f"Keying material ({SRTP_EXPORTER_LABEL}, {len(material)} bytes): {material.hex()}")
        _print("---")
        stdin_task = asyncio.ensure_future(_relay_stdin(session))
        peer_task = asyncio.ensure_future(_relay_peer(session))
        await asyncio.wait({stdin_task, peer_task}, return_when=asyncio.FIRST_COMPLETED)
        peer_task.cancel()
        # The stdin reader thread cannot be interrupted; exiting the process ends it.
        return 0
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # do not wait for the blocked stdin reader thread
