"""Host address enumeration (pywebrtc.ice.gather): what is offered, and how long it is reused."""

from __future__ import annotations

import pytest

from pywebrtc.ice import gather


def test_interfaces_are_enumerated_once_per_ttl_then_again(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    calls: list[str] = []
    addresses = ["192.0.2.10"]

    def fake_ipv4() -> list[str]:
        calls.append("v4")
        return list(addresses)

    monkeypatch.setattr(gather, "_linux_ipv4", fake_ipv4)
    monkeypatch.setattr(gather, "_linux_ipv6", lambda: [])
    monkeypatch.setattr(gather, "_default_route_address", lambda family: [])
    monkeypatch.setattr(gather, "_clock", lambda: clock[0])
    monkeypatch.setattr(gather, "_enumerated", {})
    assert gather.host_addresses() == ["192.0.2.10"]
    addresses.append("198.51.100.20")  # an interface comes up
    clock[0] += gather.ENUMERATION_TTL / 2
    assert gather.host_addresses() == ["192.0.2.10"]
    assert calls == ["v4"]
    clock[0] += gather.ENUMERATION_TTL
    assert gather.host_addresses() == ["192.0.2.10", "198.51.100.20"]
    assert calls == ["v4", "v4"]
    # Adding loopback, or changing the returned list, leaves the cached answer alone.
    assert "127.0.0.1" in gather.host_addresses(include_loopback=True)
    gather.host_addresses().clear()
    assert gather.host_addresses() == ["192.0.2.10", "198.51.100.20"]
    assert calls == ["v4", "v4"]
