"""Placement from the registry's load entries: who gets a redirected offer, and what a load
entry looks like on the wire (``pywebrtc:load:<cluster>:<id>``)."""

from __future__ import annotations

import pytest

from signaling.registry import Load, LoadError, choose

HTTP = "http://10.0.0.{}:8080"


def test_the_least_loaded_other_transceiver_with_room_is_chosen() -> None:
    loads = {
        1: Load(0, 10, http=HTTP.format(1)),  # this transceiver: never its own target
        2: Load(5, 10, http=HTTP.format(2)),
        3: Load(30, 100, http=HTTP.format(3)),  # 30 % beats 50 %: placement by utilization
        4: Load(0, 10, draining=True, http=HTTP.format(4)),
        5: Load(10, 10, http=HTTP.format(5)),  # full
        6: Load(0, 10, http=None),  # no reachable HTTP address
    }
    assert choose(loads, exclude=1) == (3, loads[3])
    del loads[3]
    assert choose(loads, exclude=1) == (2, loads[2])
    assert choose({1: loads[1], 4: loads[4], 5: loads[5], 6: loads[6]}, exclude=1) is None


def test_ties_go_to_fewer_sessions_then_the_lower_id() -> None:
    loads = {7: Load(2, 10, http="a"), 3: Load(1, 5, http="b"), 2: Load(1, 5, http="c")}
    assert choose(loads, exclude=0) == (2, loads[2])


def test_a_load_entry_round_trips_and_garbage_is_refused() -> None:
    load = Load(3, 1000, True, "http://127.0.0.1:8080")
    assert (
        str(load) == '{"sessions":3,"capacity":1000,"draining":true,"http":"http://127.0.0.1:8080"}'
    )
    assert Load.parse(str(load)) == load
    for text in ("", "[]", '{"sessions": "3", "capacity": 1}', '{"sessions": 1}',
                 '{"sessions": 1, "capacity": 2, "http": 5}', "{"):  # fmt: skip
        with pytest.raises(LoadError):
            Load.parse(text)
