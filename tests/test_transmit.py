import dataclasses

import pytest

from pywebrtc.transmit import Transmit


def test_transmit_built_by_position_or_keyword_is_the_same_frozen_value() -> None:
    """Its hand-written __init__ (faster than the frozen dataclass's) keeps what the generated
    one gave: defaults, equality and hash by value, no assignment after construction."""
    by_position = Transmit(b"x", ("10.0.0.1", 5000), ("10.0.0.2", 6000))
    by_keyword = Transmit(b"x", source=("10.0.0.2", 6000), destination=("10.0.0.1", 5000))
    assert by_position == by_keyword and hash(by_position) == hash(by_keyword)
    assert by_position.data == b"x" and by_position.destination == ("10.0.0.1", 5000)
    assert Transmit(b"y") == Transmit(b"y", None, None) != Transmit(b"y", ("10.0.0.1", 1))
    assert dataclasses.replace(by_position, data=b"z").source == ("10.0.0.2", 6000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_position.data = b"z"  # type: ignore[misc]
