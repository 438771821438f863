"""A brain that asks any OpenAI-compatible chat completions endpoint, streaming.

``POST {url}`` with ``{"model", "messages", "stream": true}``; the answer is server-sent events,
one ``data: {json}`` line per chunk whose ``choices[0].delta.content`` is the next piece of text,
ending with ``data: [DONE]``. ``url`` is the endpoint, or a base ending in ``/v1`` (then
``/chat/completions`` is added). The key, if any, goes in ``Authorization: Bearer``; the caller
reads it from the environment. Nothing here runs unless the caller configures it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence

import aiohttp

from .interfaces import Message

logger = logging.getLogger(__name__)

SPOKEN_STYLE = (
    "You are a voice assistant. Answer briefly, in plain spoken sentences: no lists, no "
    "markdown, no emoji."
)


class ChatError(ValueError):
    """The endpoint refused the request or sent something that is not a chat stream."""


class ChatBrain:
    """:class:`agent.interfaces.Brain` over a chat completions endpoint."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_tokens: int | None = 300,
    ) -> None:
        url = url.rstrip("/")
        self.url = url if url.endswith("/chat/completions") else url + "/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def reply(self, history: Sequence[Message]) -> AsyncIterator[str]:
        messages = [{"role": m.role, "content": m.text} for m in history]
        if not any(m.role == "system" for m in history):
            messages.insert(0, {"role": "system", "content": SPOKEN_STYLE})
        body: dict[str, object] = {"model": self.model, "messages": messages, "stream": True}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(self.url, json=body, headers=self._headers) as response:
            if response.status != 200:
                detail = (await response.text())[:200]
                raise ChatError(f"{self.url} answered {response.status}: {detail}")
            async for raw in response.content:
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue  # blank separators, ": keep-alive" comments, event: lines
                data = line[5:].strip()
                if data == b"[DONE]":
                    return
                piece = _delta(data)
                if piece:
                    yield piece


def _delta(data: bytes) -> str | None:
    try:
        chunk = json.loads(data)
        choices = chunk["choices"]
        if not choices:
            return None  # a usage-only chunk
        content = choices[0].get("delta", {}).get("content")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise ChatError(f"not a chat completion chunk: {data[:100]!r}") from error
    if content is not None and not isinstance(content, str):
        raise ChatError(f"delta content is not text: {data[:100]!r}")
    return content
