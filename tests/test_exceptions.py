"""``pywebrtc.exceptions``: every W3C error is one class, exported from ``pywebrtc``, and the
names aiortc defines have aiortc's bases, so code ported from aiortc catches the same things."""

from __future__ import annotations

import inspect

import aiortc.exceptions
import aiortc.mediastreams
import pytest

import pywebrtc
import pywebrtc.exceptions
import pywebrtc.media
import pywebrtc.sctp

AIORTC_ERRORS = sorted(
    name
    for name, value in vars(aiortc.exceptions).items()
    if inspect.isclass(value) and issubclass(value, BaseException)
)


def test_aiortc_has_the_four_w3c_errors() -> None:
    assert AIORTC_ERRORS == [
        "InternalError",
        "InvalidAccessError",
        "InvalidStateError",
        "OperationError",
    ]


@pytest.mark.parametrize("name", AIORTC_ERRORS)
def test_name_and_bases_match_aiortc(name: str) -> None:
    ours = getattr(pywebrtc.exceptions, name)
    theirs = getattr(aiortc.exceptions, name)
    assert ours.__name__ == theirs.__name__
    assert ours.__bases__ == theirs.__bases__
    assert getattr(pywebrtc, name) is ours


def test_media_stream_error_matches_aiortc() -> None:
    ours = pywebrtc.exceptions.MediaStreamError
    assert ours.__bases__ == aiortc.mediastreams.MediaStreamError.__bases__
    assert pywebrtc.MediaStreamError is ours
    assert pywebrtc.media.MediaStreamError is ours


@pytest.mark.parametrize(
    "name", ["InvalidCharacterError", "InvalidDescriptionError", "InvalidModificationError"]
)
def test_where_aiortc_raises_value_error_ours_is_one(name: str) -> None:
    ours = getattr(pywebrtc.exceptions, name)
    assert issubclass(ours, ValueError)
    assert getattr(pywebrtc, name) is ours


def test_each_error_is_defined_once() -> None:
    assert pywebrtc.sctp.InvalidStateError is pywebrtc.InvalidStateError
    assert pywebrtc.media.InvalidCharacterError is pywebrtc.InvalidCharacterError
    for name in pywebrtc.exceptions.__all__:
        assert getattr(pywebrtc.exceptions, name).__module__ == "pywebrtc.exceptions"
