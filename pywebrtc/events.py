"""A tiny synchronous event emitter with aiortc's ``@obj.on("event")`` decorator shape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, overload

log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., object])


class EventEmitter:
    """``run_coroutine`` (e.g. ``asyncio.ensure_future``, set by the asyncio shell) receives
    the coroutines that ``async def`` handlers return; without it they are closed unrun."""

    run_coroutine: Callable[[Any], object] | None = None

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., object]]] = {}

    @overload
    def on(self, event: str) -> Callable[[Handler], Handler]: ...

    @overload
    def on(self, event: str, handler: Handler) -> Handler: ...

    def on(
        self, event: str, handler: Handler | None = None
    ) -> Handler | Callable[[Handler], Handler]:
        """Register ``handler`` for ``event`` and return it; without a handler, return a
        decorator that registers what it decorates."""

        def register(fn: Handler) -> Handler:
            self._handlers.setdefault(event, []).append(fn)
            return fn

        if handler is not None:
            return register(handler)
        return register

    def remove_listener(self, event: str, handler: Callable[..., object]) -> None:
        handlers = self._handlers.get(event, [])
        if handler in handlers:
            handlers.remove(handler)

    def remove_all_listeners(self, event: str | None = None) -> None:
        if event is None:
            self._handlers.clear()
        else:
            self._handlers.pop(event, None)

    def emit(self, event: str, *args: object) -> None:
        """Call the handlers in registration order. A handler's exception is logged, never
        raised into the protocol machine that emitted the event."""
        for handler in list(self._handlers.get(event, ())):
            try:
                result = handler(*args)
            except Exception:
                log.exception("%r handler failed", event)
                continue
            if hasattr(result, "__await__"):
                # Coroutine handlers are the asyncio shell's business: schedule, don't await.
                if self.run_coroutine is not None:
                    self.run_coroutine(result)
                    continue
                close = getattr(result, "close", None)
                log.warning("coroutine handler for %r was not awaited; wrap it in a task", event)
                if close is not None:
                    close()
