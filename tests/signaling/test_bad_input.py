"""Bad input to a ``pywebrtc-signaling`` process: each request of the table gets its 4xx (or
503) with a one-line reason and CORS headers, never a 5xx; Hypothesis-mutated offers never get
a 5xx either; a full service says 503 + Retry-After and /readyz agrees."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pywebrtc.framing import frame
from tests.signaling.bad_offers import NO_CODEC, OFFER, TEXT_ONLY, VIDEO_NO_CODEC, make_offer
from tests.signaling.service import SignalingProcess, request

AUTH = {"Authorization": "Bearer secret"}
SDP = {"Content-Type": "application/sdp", **AUTH}
FRAG = {"Content-Type": "application/trickle-ice-sdpfrag", **AUTH}


@pytest.fixture(scope="module")
def service() -> Iterator[SignalingProcess]:
    process = SignalingProcess("--token", "secret", "--token", "other", "--max-sessions", "500")
    yield process
    assert process.terminate() == 0, process.output()
    process.close()


@pytest.fixture(scope="module")
def whip(service: SignalingProcess) -> Iterator[tuple[str, str]]:
    """A live WHIP resource (nobody connects to it): its URL and ETag."""
    response = request("POST", service.url + "/whip", data=OFFER, headers=SDP, timeout=10)
    assert response.status_code == 201, response.text
    yield service.url + response.headers["Location"], response.headers["ETag"]
    request("DELETE", service.url + response.headers["Location"], headers=AUTH, timeout=10)


CASES: list[tuple[str, str, str, dict[str, str], bytes | str, int]] = [
    # (what, method, path, headers, body, expected status)
    ("no token", "POST", "/whip", {"Content-Type": "application/sdp"}, OFFER, 401),
    ("wrong token", "POST", "/whip", {**SDP, "Authorization": "Bearer nope"}, OFFER, 401),
    ("not bearer", "POST", "/whip", {**SDP, "Authorization": "Basic c2VjcmV0"}, OFFER, 401),
    ("wrong content type", "POST", "/whip", {**AUTH, "Content-Type": "text/plain"}, OFFER, 415),
    ("no content type", "POST", "/whip", AUTH, OFFER, 415),
    ("garbage SDP", "POST", "/whip", SDP, "hello world", 400),
    ("empty SDP", "POST", "/whip", SDP, "", 400),
    ("binary SDP", "POST", "/whip", SDP, b"\xff\xfe\x00v=0", 400),
    ("NUL in SDP", "POST", "/whip", SDP, OFFER.replace("s=-", "s=\x00"), 400),
    ("truncated SDP", "POST", "/whip", SDP, OFFER[: len(OFFER) // 3], 400),
    ("no media", "POST", "/whip", SDP, OFFER.split("m=")[0], 422),
    ("video in no codec we have", "POST", "/whip", SDP, VIDEO_NO_CODEC, 422),
    ("only an unknown kind", "POST", "/whip", SDP, TEXT_ONLY, 422),
    ("no common codec", "POST", "/whip", SDP, NO_CODEC, 422),
    ("oversized", "POST", "/whip", SDP, OFFER + "a=x:" + "y" * 200_000 + "\r\n", 413),
    ("GET /whip", "GET", "/whip", AUTH, "", 405),
    ("PUT /whip", "PUT", "/whip", SDP, OFFER, 405),
    ("unknown resource PATCH", "PATCH", "/whip/nope", {**FRAG, "If-Match": "*"}, "", 404),
    ("unknown resource DELETE", "DELETE", "/whip/nope", AUTH, "", 404),
    ("unknown path", "GET", "/nope", {}, "", 404),
    ("offer not JSON", "POST", "/offer", {**AUTH, "Content-Type": "application/json"}, "{", 400),
    (
        "offer wrong type",
        "POST",
        "/offer",
        {**AUTH, "Content-Type": "application/json"},
        json.dumps({"type": "answer", "sdp": OFFER}),
        400,
    ),
    ("offer as SDP", "POST", "/offer", SDP, OFFER, 415),
    (
        "offer garbage",
        "POST",
        "/offer",
        {**AUTH, "Content-Type": "application/json"},
        json.dumps({"type": "offer", "sdp": "v=0\r\nbad"}),
        400,
    ),  # fmt: skip
    ("call garbage SDP", "POST", "/v1/realtime/calls", SDP, "nonsense", 400),
    (
        "call wrong type",
        "POST",
        "/v1/realtime/calls",
        {**AUTH, "Content-Type": "text/html"},
        OFFER,
        415,
    ),  # fmt: skip
    (
        "call multipart without sdp",
        "POST",
        "/v1/realtime/calls",
        {**AUTH, "Content-Type": "multipart/form-data; boundary=b"},
        '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
        400,
    ),  # fmt: skip
    ("hangup unknown", "POST", "/v1/realtime/calls/rtc_nope/hangup", AUTH, "", 404),
    ("secret without token", "POST", "/v1/realtime/client_secrets", {}, "", 401),
    (
        "secret too short",
        "POST",
        "/v1/realtime/client_secrets",
        {**AUTH, "Content-Type": "application/json"},
        json.dumps({"expires_after": {"anchor": "created_at", "seconds": 5}}),
        400,
    ),  # fmt: skip
    (
        "secret too long",
        "POST",
        "/v1/realtime/client_secrets",
        {**AUTH, "Content-Type": "application/json"},
        json.dumps({"expires_after": {"seconds": 7201}}),
        400,
    ),  # fmt: skip
    ("secret bad JSON", "POST", "/v1/realtime/client_secrets", AUTH, "[1,", 400),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_request_gets_its_4xx(
    service: SignalingProcess,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | str,
    expected: int,
) -> None:
    response = request(method, service.url + path, headers, body)
    assert response.status_code == expected, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.text.count("\n") <= 1 and response.text.strip(), response.text


def test_whip_patch_preconditions(service: SignalingProcess, whip: tuple[str, str]) -> None:
    url, etag = whip
    candidate = "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
    cases = [
        (FRAG, 428),  # no If-Match
        ({**FRAG, "If-Match": '"stale"'}, 412),
        ({**AUTH, "Content-Type": "application/sdp", "If-Match": etag}, 415),
        ({**FRAG, "If-Match": etag, "Authorization": "Bearer nope"}, 401),
    ]
    for headers, expected in cases:
        response = request("PATCH", url, data=candidate, headers=headers, timeout=10)
        assert response.status_code == expected, (headers, response.text)
    response = request("PATCH", url, data="x=1\r\n", headers={**FRAG, "If-Match": etag}, timeout=10)
    assert response.status_code == 400, response.text
    response = request("PATCH", url, data=candidate, headers={**FRAG, "If-Match": etag}, timeout=10)
    assert response.status_code == 204, response.text


def test_whip_ice_restart_by_patch(service: SignalingProcess) -> None:
    response = request("POST", service.url + "/whip", data=OFFER, headers=SDP, timeout=10)
    assert response.status_code == 201
    url, etag = service.url + response.headers["Location"], response.headers["ETag"]
    old_ufrag = next(line for line in response.text.splitlines() if line.startswith("a=ice-ufrag:"))
    fragment = "a=ice-ufrag:N3wU\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaaaa\r\nm=audio 9 UDP 0\r\n"
    fragment += "a=mid:0\r\n"
    restart = request("PATCH", url, data=fragment, headers={**FRAG, "If-Match": "*"}, timeout=10)
    assert restart.status_code == 200, restart.text
    assert restart.headers["Content-Type"].startswith("application/trickle-ice-sdpfrag")
    assert restart.headers["ETag"] != etag
    lines = restart.text.splitlines()
    assert "a=ice-lite" in lines and any(line.startswith("a=candidate:") for line in lines)
    new_ufrag = next(line for line in lines if line.startswith("a=ice-ufrag:"))
    assert new_ufrag != old_ufrag
    # The old ETag is stale now; the new one works.
    stale = request(
        "PATCH", url, data="a=mid:0\r\n", headers={**FRAG, "If-Match": etag}, timeout=10
    )
    assert stale.status_code == 412
    fresh = {**FRAG, "If-Match": restart.headers["ETag"]}
    assert request("PATCH", url, data="a=end-of-candidates\r\n", headers=fresh, timeout=10).ok
    assert request("DELETE", url, headers=AUTH, timeout=10).status_code == 200


def test_options_cors_and_health(service: SignalingProcess) -> None:
    response = request("OPTIONS", service.url + "/whip", timeout=10)
    assert response.status_code == 204
    assert response.headers["Accept-Post"] == "application/sdp"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert "If-Match" in response.headers["Access-Control-Allow-Headers"]
    exposed = response.headers["Access-Control-Expose-Headers"]
    assert {"Location", "ETag", "Link"} <= {h.strip() for h in exposed.split(",")}
    assert request("GET", service.url + "/livez", timeout=10).status_code == 200
    assert request("GET", service.url + "/readyz", timeout=10).status_code == 200
    metrics = request("GET", service.url + "/metrics", timeout=10).text
    for name in (
        "pywebrtc_sessions{",
        "pywebrtc_sessions_created_total",
        "pywebrtc_rtp_packets_received_total",
        "pywebrtc_rtp_packets_sent_total",
        "pywebrtc_datachannel_messages_received_total",
        "pywebrtc_http_requests_total{",
        "pywebrtc_session_setup_seconds_bucket",
    ):
        assert name in metrics, name


def test_ephemeral_key_creates_a_call_and_hangup_ends_it(service: SignalingProcess) -> None:
    minted = request(
        "POST",
        service.url + "/v1/realtime/client_secrets",
        data=json.dumps(
            {
                "expires_after": {"anchor": "created_at", "seconds": 60},
                "session": {"type": "realtime", "instructions": "be brief"},
            }
        ),
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=10,
    )
    assert minted.status_code == 200, minted.text
    key = minted.json()
    assert isinstance(key, dict)
    assert key["value"].startswith("ek_") and key["expires_at"] > 0
    # The ephemeral key may create calls (multipart, as OpenAI's examples do) ...
    ephemeral = {"Authorization": "Bearer " + key["value"]}
    call = request(
        "POST",
        service.url + "/v1/realtime/calls",
        data=multipart({"sdp": OFFER, "session": json.dumps({"type": "realtime"})}),
        headers={**ephemeral, "Content-Type": "multipart/form-data; boundary=xyzzy"},
        timeout=10,
    )
    assert call.status_code == 201, call.text
    assert call.headers["Location"].startswith("/v1/realtime/calls/rtc_")
    assert call.headers["Content-Type"].startswith("application/sdp")
    # ... but not mint keys.
    again = request(
        "POST", service.url + "/v1/realtime/client_secrets", headers=ephemeral, timeout=10
    )
    assert again.status_code == 401
    hangup = request(
        "POST", service.url + call.headers["Location"] + "/hangup", headers=ephemeral, timeout=10
    )
    assert hangup.status_code == 200
    assert service.metric("pywebrtc_sessions_ended_total", 'reason="hangup"') >= 1


def multipart(fields: dict[str, str]) -> str:
    parts = [
        f'--xyzzy\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return "".join(parts) + "--xyzzy--\r\n"


def _mutations() -> st.SearchStrategy[str]:
    lines = OFFER.split("\r\n")

    def apply(ops: list[tuple[int, int, str]]) -> str:
        out = list(lines)
        for kind, index, text in ops:
            if not out:
                break
            i = index % len(out)
            if kind == 0:
                del out[i]
            elif kind == 1:
                out.insert(i, out[index % len(out)])
            elif kind == 2:
                out[i] = out[i][: len(out[i]) // 2] + text
            elif kind == 3:
                out.insert(i, text)
            else:
                out[i] = text
        return "\r\n".join(out)

    return st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 200), st.text(max_size=40)), max_size=6
    ).map(apply)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sdp=_mutations())
def test_mutated_offers_never_get_a_5xx(service: SignalingProcess, sdp: str) -> None:
    response = request(
        "POST",
        service.url + "/whip",
        data=sdp.encode("utf-8", "surrogatepass"),
        headers=SDP,
        timeout=10,
    )
    assert response.status_code < 500, (response.status_code, response.text, sdp)
    if response.status_code == 201:
        location = service.url + response.headers["Location"]
        assert request("DELETE", location, headers=AUTH, timeout=10).status_code == 200


def test_full_service_says_503_and_readyz_agrees_and_links_ice_servers() -> None:
    process = SignalingProcess(
        "--max-sessions", "1", "--drain-timeout", "0.5",
        "--ice-server", "stun:127.0.0.1:3478",
        "--ice-server", "turn:127.0.0.1:3478?transport=udp|user|pass",
    )  # fmt: skip
    links = [
        '<stun:127.0.0.1:3478>; rel="ice-server"',
        '<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="user"; '
        'credential="pass"; credential-type="password"',
    ]
    try:
        headers = {"Content-Type": "application/sdp"}
        first = request("POST", process.url + "/whip", data=OFFER, headers=headers, timeout=10)
        assert first.status_code == 201
        assert first.header_values("Link") == links  # RFC 9725 §4.4
        assert request("OPTIONS", process.url + "/whip").header_values("Link") == links
        full = request("POST", process.url + "/whip", data=OFFER, headers=headers, timeout=10)
        assert full.status_code == 503 and full.headers["Retry-After"]
        assert request("GET", process.url + "/readyz", timeout=10).status_code == 503
        location = process.url + first.headers["Location"]
        assert request("DELETE", location, timeout=10).status_code == 200
        assert request("GET", process.url + "/readyz", timeout=10).status_code == 200
        assert request("POST", process.url + "/whip", data=OFFER, headers=headers, timeout=10).ok
    finally:
        assert process.terminate() == 0
        process.close()


def test_direct_mode_drops_frames(service: SignalingProcess) -> None:
    """Without --relay nobody may speak for another address: frames are dropped, counted."""
    before = service.metric("pywebrtc_udp_frames_dropped")
    framed = frame(("192.0.2.1", 4000), b"\x00\x01\x00\x00" + bytes(16))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(3):
            sock.sendto(framed, ("127.0.0.1", service.udp_port))
    for _ in range(100):
        if service.metric("pywebrtc_udp_frames_dropped") == before + 3:
            return
        time.sleep(0.02)
    raise AssertionError("frames were not dropped")


def test_a_section_the_offer_rejects_stays_rejected_without_a_422(
    service: SignalingProcess,
) -> None:
    offer = make_offer(audio=True, channel=False)
    audio = next(line for line in offer.splitlines() if line.startswith("m=audio"))
    rejected = offer.replace(audio, "m=audio 0" + audio[len("m=audio 9") :], 1)
    with_data = make_offer(audio=True, channel=True)
    data_line = next(line for line in with_data.splitlines() if line.startswith("m=application"))
    closed_data = with_data.replace(
        data_line, "m=application 0" + data_line[len("m=application 9") :]
    )
    response = request("POST", service.url + "/whip", SDP, rejected)
    assert response.status_code == 422, response.text  # nothing left open
    response = request("POST", service.url + "/whip", SDP, closed_data)
    assert response.status_code == 201, response.text
    assert "m=application 0 " in response.text
    assert request("DELETE", service.url + response.headers["Location"], AUTH).ok
