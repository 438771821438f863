"""Schemathesis fuzzes the service from docs/signaling.openapi.json: for every documented
operation it generates requests (valid and invalid by the schema) and checks every response —
no 5xx, a documented status, the documented content type and body schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.signaling.bad_offers import OFFER
from tests.signaling.service import SignalingProcess

# Bodies for the two SDP media types: a real offer, mutations of it, and arbitrary text.
_LINES = OFFER.split("\r\n")
_SDP = st.one_of(
    st.just(OFFER),
    st.lists(st.sampled_from(_LINES), max_size=len(_LINES)).map("\r\n".join),
    st.text(max_size=300),
).map(str.encode)
_FRAGMENT = st.one_of(
    st.just(
        "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
    ),
    st.just("a=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n"),
    st.text(max_size=200),
).map(str.encode)
schemathesis.openapi.media_type("application/sdp", _SDP)
schemathesis.openapi.media_type("application/trickle-ice-sdpfrag", _FRAGMENT)


@schemathesis.deserializer("application/sdp", "application/trickle-ice-sdpfrag")
def _text(_: schemathesis.DeserializationContext, response: schemathesis.Response) -> str:
    return response.content.decode()


SCHEMA = schemathesis.openapi.from_path(
    Path(__file__).resolve().parents[2] / "docs" / "signaling.openapi.json"
)


@pytest.fixture(scope="module")
def service() -> Iterator[SignalingProcess]:
    process = SignalingProcess("--token", "secret", "--drain-timeout", "0.5")
    yield process
    assert process.terminate() == 0, process.output()
    process.close()


@SCHEMA.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_document(
    case: schemathesis.Case[Any], service: SignalingProcess
) -> None:
    case.call_and_validate(base_url=service.url)
