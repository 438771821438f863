"""The operations chain (W3C §4.4.1.2) on its own: call order, failures and cancelled callers.

The operations only yield to the loop (``asyncio.sleep(0)``): no timers are involved."""

from __future__ import annotations

import asyncio

import pytest

from pywebrtc.jsep.operations import OperationsChain


def test_operations_run_one_at_a_time_in_call_order_past_failures_and_cancellations() -> None:
    async def body() -> None:
        emptied: list[int] = []
        chain = OperationsChain(lambda: emptied.append(1))
        log: list[str] = []

        async def op(name: str, fail: bool = False) -> str:
            log.append(f"start {name}")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            log.append(f"end {name}")
            if fail:
                raise RuntimeError(name)
            return name

        a = asyncio.ensure_future(chain.run(lambda: op("a")))
        b = asyncio.ensure_future(chain.run(lambda: op("b", fail=True)))
        c = asyncio.ensure_future(chain.run(lambda: op("c")))
        d = asyncio.ensure_future(chain.run(lambda: op("d")))
        await asyncio.sleep(0)
        assert chain.busy
        c.cancel()  # waiting behind a and b: never runs, and does not block d
        chain.update_on_empty = True
        results = await asyncio.gather(a, b, c, d, return_exceptions=True)
        assert results[0] == "a" and results[3] == "d"
        assert isinstance(results[1], RuntimeError)
        assert isinstance(results[2], asyncio.CancelledError)
        assert log == ["start a", "end a", "start b", "end b", "start d", "end d"]
        assert not chain.busy and emptied == [1]

        # A caller cancelled after the chain was handed to it, before it ran: the next runs.
        e = asyncio.ensure_future(chain.run(lambda: op("e")))
        f = asyncio.ensure_future(chain.run(lambda: op("f")))
        g = asyncio.ensure_future(chain.run(lambda: op("g")))
        while "end e" not in log:
            await asyncio.sleep(0)
        f.cancel()
        results = await asyncio.gather(e, f, g, return_exceptions=True)
        assert results[0] == "e" and results[2] == "g"
        assert "start f" not in log
        assert not chain.busy

        # An operation with none ahead starts at once (before the caller yields).
        log.clear()
        h = asyncio.ensure_future(chain.run(lambda: op("h")))
        await asyncio.sleep(0)
        assert log == ["start h"]
        assert await h == "h"

    asyncio.run(body())


def test_a_failing_operation_raises_to_its_caller_and_frees_the_chain() -> None:
    async def body() -> None:
        chain = OperationsChain(lambda: None)

        async def fail() -> None:
            raise ValueError("bad")

        with pytest.raises(ValueError, match="bad"):
            await chain.run(fail)
        assert not chain.busy

        async def ok() -> int:
            return 7

        assert await chain.run(ok) == 7

    asyncio.run(body())
