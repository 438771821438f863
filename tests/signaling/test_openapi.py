"""docs/signaling.openapi.json against the service: every route served is documented (and the
other way round), and Hypothesis-made requests to every documented operation — documented or
random content types, bodies, tokens, If-Match values, ids — get one of that operation's
documented statuses (or a generic 4xx), never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.auth import Auth
from signaling.echo import echo
from signaling.http import Service, build_app
from signaling.metrics import Metrics
from signaling.sessions import ServiceConfig, SessionManager
from tests.signaling.bad_offers import OFFER
from tests.signaling.service import SignalingProcess, request

DOC: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "signaling.openapi.json").read_text()
)
METHODS = ("get", "post", "patch", "delete", "put")
OPERATIONS = [
    (path, method, operation)
    for path, item in DOC["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]
GENERIC = {401, 404, 405, 413, 415}  # auth, routing and aiohttp's own, on any operation


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    app = build_app(Service(SessionManager(ServiceConfig(), echo, Metrics()), Auth([]), Metrics()))
    served = {
        (resource.canonical, route.method.lower())
        for resource in app.router.resources()
        for route in resource
        if route.method != "HEAD"
    }
    documented = {(path, method) for path, method, _ in OPERATIONS}
    assert served == documented


@pytest.fixture(scope="module")
def service() -> Iterator[SignalingProcess]:
    process = SignalingProcess("--token", "secret", "--drain-timeout", "0.5")
    yield process
    assert process.terminate() == 0, process.output()
    process.close()


def _bodies() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=200),
        st.just(OFFER),
        st.just(json.dumps({"type": "offer", "sdp": OFFER})),
        st.just("a=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n"),
        st.just('{"expires_after": {"seconds": 60}}'),
        st.builds(json.dumps, st.dictionaries(st.text(max_size=10), st.integers(), max_size=3)),
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    index=st.integers(0, len(OPERATIONS) - 1),
    content_type=st.sampled_from(
        [
            "application/sdp",
            "application/json",
            "application/trickle-ice-sdpfrag",
            "multipart/form-data; boundary=x",
            "text/plain",
            "",
        ]
    ),
    body=_bodies(),
    token=st.sampled_from(["Bearer secret", "Bearer wrong", "", "Basic x", "Bearer ek_x"]),
    if_match=st.sampled_from(["*", '"nope"', "", 'W/"x"']),
    ident=st.text(alphabet="abcdef0123456789_rtc", min_size=1, max_size=30),
)
def test_documented_operations_answer_documented_statuses(
    service: SignalingProcess,
    index: int,
    content_type: str,
    body: str,
    token: str,
    if_match: str,
    ident: str,
) -> None:
    path, method, operation = OPERATIONS[index]
    headers = {"Content-Type": content_type, "Authorization": token, "If-Match": if_match}
    headers = {k: v for k, v in headers.items() if v}
    response = request(method.upper(), service.url + path.replace("{id}", ident), headers, body)
    status = response.status_code
    allowed = {int(code) for code in operation["responses"]} | GENERIC
    assert status < 500 and status in allowed, (path, method, status, response.text)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    location = response.headers.get("Location")
    if status == 201 and location:  # a session was made: end it
        end = location + ("/hangup" if location.startswith("/v1/") else "")
        verb = "POST" if location.startswith("/v1/") else "DELETE"
        assert request(verb, service.url + end, {"Authorization": "Bearer secret"}).ok
