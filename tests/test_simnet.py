"""The simulated network itself (tests/simnet.py): what each impairment, NAT and move does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.simnet import Duplicate, Loss, Network, Reorder, VirtualTimeLoop

A, B = ("10.0.0.1", 1000), ("192.0.2.2", 2000)


Received = list[tuple[bytes, tuple[str, int]]]
Send = Callable[[bytes, tuple[str, int]], None]


def listen(net: Network, address: tuple[str, int]) -> tuple[Received, Send]:
    """A socket at ``address``: what it received (data, source), and its send."""
    received: Received = []
    return received, net.socket(address, lambda data, source: received.append((data, source)))


def test_oversized_datagrams_are_dropped_and_counted() -> None:
    net = Network(mtu=1200)
    _, send_a = listen(net, A)
    at_b, _ = listen(net, B)
    send_a(bytes(1200), B)
    send_a(bytes(1201), B)
    net.run()
    assert [len(data) for data, _ in at_b] == [1200]
    assert net.drops == {"mtu": 1}


def test_loss_duplication_and_reordering_are_seeded() -> None:
    def arrivals(seed: int) -> list[bytes]:
        net = Network(Loss(0.2), Duplicate(0.2), Reorder(0.5, 0.05), seed=seed)
        _, send_a = listen(net, A)
        at_b, _ = listen(net, B)
        for n in range(200):
            send_a(n.to_bytes(2, "big"), B)
        net.run()
        assert net.drops["loss"] > 0
        return [data for data, _ in at_b]

    got = arrivals(1)
    assert got == arrivals(1) and got != arrivals(2)
    assert len(set(got)) < len(got)  # duplicates
    assert got != sorted(got)  # reordered
    assert len(set(got)) < 200  # lost


def test_a_nat_rebinding_changes_the_source_and_forgets_the_old_mapping() -> None:
    net = Network()
    at_a, send_a = listen(net, A)
    at_b, send_b = listen(net, B)
    net.nat(A, ("203.0.113.1", 40000))
    send_a(b"1", B)
    net.run()
    new = net.rebind(A)
    send_a(b"2", B)
    send_b(b"to old", ("203.0.113.1", 40000))
    send_b(b"to new", new)
    send_b(b"to private", A)
    net.run()
    assert at_b == [(b"1", ("203.0.113.1", 40000)), (b"2", new)]
    assert at_a == [(b"to new", B)]
    assert net.drops == {"unroutable": 1, "nat": 1}


def test_a_symmetric_nat_lets_in_only_the_destination_it_mapped() -> None:
    net = Network()
    at_a, send_a = listen(net, A)
    at_b, send_b = listen(net, B)
    _, send_c = listen(net, ("192.0.2.3", 3000))
    net.symmetric_nat(A, "203.0.113.9")
    send_a(b"hello", B)
    net.run()
    ((_, public),) = at_b
    send_b(b"reply", public)
    send_c(b"stranger", public)
    net.run()
    assert at_a == [(b"reply", B)] and net.drops == {"nat": 1}


def test_a_moved_host_is_reached_at_its_new_address_only() -> None:
    net = Network()
    at_a, send_a = listen(net, A)
    _, send_b = listen(net, B)
    net.move(A, ("10.0.0.99", 1000))
    send_b(b"old", A)
    send_b(b"new", ("10.0.0.99", 1000))
    send_a(b"from the old interface", B)
    net.run()
    assert at_a == [(b"new", B)]
    assert net.drops == {"unroutable": 1, "moved": 1}


def test_the_virtual_time_loop_jumps_to_the_next_timer_instead_of_sleeping() -> None:
    net = Network(delay=30.0)
    at_a, _ = listen(net, A)
    _, send_b = listen(net, B)
    loop = VirtualTimeLoop(net)

    async def main() -> float:
        send_b(b"slow", A)
        await asyncio.sleep(3600)
        return loop.time()

    started = time.perf_counter()
    try:
        assert loop.run_until_complete(main()) == 3600
    finally:
        loop.close()
    assert time.perf_counter() - started < 1.0
    assert at_a == [(b"slow", B)]
