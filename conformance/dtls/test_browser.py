"""DTLS with real browsers: Chromium (Playwright, /usr/bin/chromium) and Firefox ESR (headless,
no driver), both DTLS roles, over real ICE (aioice) on this machine.

Our side is ``DtlsConnection`` alone (no SCTP): the page holds a data channel, so once DTLS is
up the browser reports its DTLS transport ``connected`` and starts SCTP, whose first packet
(an INIT chunk, from port 5000 to 5000) reaches us as DTLS application data. Each side checks
the other's certificate against the SDP fingerprint.

Role A: we offer (a=setup:actpass), the browser answers active: browser = DTLS client.
Role B: the browser offers, we answer a=setup:active: we are the DTLS client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from aioice import Candidate, Connection

from conformance.browser.driver import launch_chromium, launch_firefox
from pywebrtc.dtls import (
    ApplicationData,
    ConnectionClosed,
    DtlsConfig,
    DtlsConnection,
    Fingerprint,
    HandshakeComplete,
    Transmit,
)
from pywebrtc.dtls.extensions import NamedGroup
from pywebrtc.dtls.keyexchange import TLS13_GROUPS
from pywebrtc.dtls.messages13 import DTLS_1_3
from pywebrtc.dtls.record import DTLS_1_2
from tests.dtls.peers import load_certificate

PAGE = b"""<!doctype html><meta charset=utf-8><pre id=log></pre><script>
const role = new URLSearchParams(location.search).get("role");
async function gathered(pc) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise(r => pc.onicegatheringstatechange =
    () => pc.iceGatheringState === "complete" && r());
}
async function report(pc) {
  for (let i = 0; i < 200; i++) {
    const t = pc.sctp && pc.sctp.transport;
    const s = t ? t.state : "none";
    if (s === "connected" || s === "failed" || s === "closed") {
      await fetch("/state", {method: "POST", body: s}); return;
    }
    await new Promise(r => setTimeout(r, 50));
  }
  await fetch("/state", {method: "POST", body: "timeout"});
}
(async () => {
  const pc = new RTCPeerConnection();
  window.keep = pc;
  if (role === "answer") {
    const offer = await (await fetch("/offer")).json();
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await fetch("/answer", {method: "POST", body: pc.localDescription.sdp});
  } else {
    pc.createDataChannel("dtls-test");
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    await fetch("/offer", {method: "POST", body: pc.localDescription.sdp});
    const answer = await (await fetch("/answer")).text();
    await pc.setRemoteDescription({type: "answer", sdp: answer});
  }
  await report(pc);
})();
</script>"""


class Signaling:
    """A tiny HTTP server: the page fetches/posts SDP here; futures bridge to the test loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.our_sdp: asyncio.Future[str] = loop.create_future()
        self.their_sdp: asyncio.Future[str] = loop.create_future()
        self.state: asyncio.Future[str] = loop.create_future()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _reply(self, body: bytes, ctype: str = "text/plain") -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path in ("/offer", "/answer"):
                    sdp = asyncio.run_coroutine_threadsafe(outer._ours(), loop).result(30)
                    if self.path == "/offer":
                        self._reply(json.dumps({"type": "offer", "sdp": sdp}).encode())
                    else:
                        self._reply(sdp.encode())
                else:
                    self._reply(PAGE, "text/html")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                target = outer.state if self.path == "/state" else outer.their_sdp
                loop.call_soon_threadsafe(outer._set, target, body)
                self._reply(b"ok")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=self.httpd.serve_forever, daemon=True).start()

    async def _ours(self) -> str:
        return await asyncio.shield(self.our_sdp)

    @staticmethod
    def _set(future: asyncio.Future[str], value: str) -> None:
        if not future.done():
            future.set_result(value)

    def url(self, role: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/?role={role}"

    def close(self) -> None:
        self.httpd.shutdown()


def our_sdp(ice: Connection, fingerprint: Fingerprint, setup: str) -> str:
    lines = [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ice.local_username}",
        f"a=ice-pwd:{ice.local_password}",
        f"a=fingerprint:{fingerprint}",
        f"a=setup:{setup}",
        "a=mid:0",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        *[f"a=candidate:{c.to_sdp()}" for c in ice.local_candidates],
        "a=end-of-candidates",
    ]
    return "\r\n".join(lines) + "\r\n"


async def apply_their_sdp(ice: Connection, sdp: str) -> tuple[Fingerprint, str]:
    fingerprint: Fingerprint | None = None
    setup = "actpass"
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("a=ice-ufrag:"):
            ice.remote_username = line.split(":", 1)[1]
        elif line.startswith("a=ice-pwd:"):
            ice.remote_password = line.split(":", 1)[1]
        elif line.startswith("a=fingerprint:"):
            fingerprint = Fingerprint.parse(line.split(":", 1)[1])
        elif line.startswith("a=setup:"):
            setup = line.split(":", 1)[1]
        elif line.startswith("a=candidate:"):
            candidate = Candidate.from_sdp(line.split(":", 1)[1])
            if candidate.transport.lower() == "udp" and ":" not in candidate.host:
                await ice.add_remote_candidate(candidate)
    await ice.add_remote_candidate(None)
    assert fingerprint is not None
    return fingerprint, setup


async def run_dtls(ice: Connection, conn: DtlsConnection) -> tuple[HandshakeComplete, bytes]:
    """Pump the sans-IO connection over ICE until connected and one record of data arrives."""
    loop = asyncio.get_running_loop()
    if conn.is_client:
        conn.connect(loop.time())
    done: HandshakeComplete | None = None
    while True:
        while (item := conn.poll()) is not None:
            if isinstance(item, Transmit):
                await ice.send(item.data)
            elif isinstance(item, HandshakeComplete):
                done = item
            elif isinstance(item, ApplicationData):
                assert done is not None
                return done, item.data
            elif isinstance(item, ConnectionClosed):
                raise AssertionError(f"DTLS closed: {item.error!r}")
        deadline = conn.deadline()
        timeout = None if deadline is None else max(deadline - loop.time(), 0.0)
        try:
            data = await asyncio.wait_for(ice.recv(), timeout)
        except TimeoutError:
            conn.tick(loop.time())
            continue
        conn.receive(data, loop.time())


Launcher = Callable[[str], Awaitable[Callable[[], Awaitable[None]]]]


# No skip when a browser is missing: `make test` installs both, and a missing peer must fail.
BROWSERS = [
    pytest.param(launch_chromium, id="chromium"),
    pytest.param(launch_firefox, id="firefox"),
]


@pytest.mark.parametrize("launch", BROWSERS)
@pytest.mark.parametrize("we_are", ["server", "client"])
@pytest.mark.parametrize(
    ("version", "group"),
    [
        (DTLS_1_2, None),
        (DTLS_1_3, NamedGroup.X25519MLKEM768),
        (DTLS_1_3, NamedGroup.X25519),
    ],
    ids=["dtls12", "dtls13", "dtls13-x25519"],
)
def test_dtls_with_browser(
    launch: Launcher, we_are: str, version: int, group: NamedGroup | None
) -> None:
    """With 1.3 allowed (and 1.2), the browsers pick 1.3 and X25519MLKEM768 in both roles.
    Allowing only x25519: as server we answer their hybrid-only share with a
    HelloRetryRequest naming x25519; as client we send an x25519 share."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        certificate = load_certificate()
        signaling = Signaling(loop)
        # The offerer is ICE-controlling (RFC 8445 §6.1.1).
        ice = Connection(ice_controlling=we_are == "server", use_ipv6=False)
        close_browser: Callable[[], Awaitable[None]] | None = None
        try:
            await ice.gather_candidates()
            if we_are == "server":
                signaling.our_sdp.set_result(our_sdp(ice, certificate.fingerprint(), "actpass"))
                close_browser = await launch(signaling.url("answer"))
                their_fp, setup = await apply_their_sdp(
                    ice, await asyncio.wait_for(signaling.their_sdp, 30)
                )
                assert setup == "active"
            else:
                close_browser = await launch(signaling.url("offer"))
                their_fp, setup = await apply_their_sdp(
                    ice, await asyncio.wait_for(signaling.their_sdp, 30)
                )
                assert setup == "actpass"
                signaling.our_sdp.set_result(our_sdp(ice, certificate.fingerprint(), "active"))
            await asyncio.wait_for(ice.connect(), 20)
            versions = (DTLS_1_3, DTLS_1_2) if version == DTLS_1_3 else (DTLS_1_2,)
            config = DtlsConfig(
                certificate,
                remote_fingerprints=(their_fp,),
                initial_timeout=0.2,
                versions=versions,
                tls13_groups=(group,) if group is not None else TLS13_GROUPS,
                # HelloVerifyRequest (1.2) and a cookie-only HelloRetryRequest (1.3); the
                # x25519 case leaves the cookie out so its HRR is the key-share one.
                cookie_exchange=group != NamedGroup.X25519,
            )
            conn = DtlsConnection(config, is_client=we_are == "client", remote_address=b"browser")
            done, first = await asyncio.wait_for(run_dtls(ice, conn), 20)
            assert done.peer_fingerprint is not None
            assert conn.peer_certificate is not None and their_fp.matches(conn.peer_certificate)
            assert done.srtp_profile is not None
            assert done.version == version and conn.version == version
            if version == DTLS_1_3:
                assert done.group == group
            else:
                assert done.extended_master_secret
            # SCTP common header: source and destination port 5000 (a=sctp-port).
            assert first[:4] == b"\x13\x88\x13\x88"
            assert await asyncio.wait_for(signaling.state, 20) == "connected"
        finally:
            if close_browser is not None:
                await close_browser()
            await ice.close()
            signaling.close()

    asyncio.run(run())
