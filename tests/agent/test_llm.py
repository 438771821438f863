"""The chat-completions brain against a stand-in OpenAI-compatible server started by the test
(aiohttp on 127.0.0.1, an ephemeral port)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from agent.interfaces import Message
from agent.llm import SPOKEN_STYLE, ChatBrain, ChatError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


def chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "stand-in",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def streaming(pieces: list[bytes], seen: list[dict[str, Any]]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append({"body": await request.json(), "auth": request.headers.get("Authorization")})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
        return response

    return handle


def test_streams_the_reply_pieces() -> None:
    seen: list[dict[str, Any]] = []
    stream = [
        b": keep-alive\n\n",
        b'data: {"id":"x","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n',
        chunk("Twelve times "),
        chunk("thirty four is "),
        chunk("four hundred and eight."),
        chunk(None, "stop"),
        b'data: {"id":"x","choices":[],"usage":{"total_tokens":9}}\n\n',
        b"data: [DONE]\n\n",
        chunk("after the end"),
    ]

    async def run() -> list[str]:
        async with server(streaming(stream, seen)) as url:
            brain = ChatBrain(url, "stand-in", api_key="sk-test")
            try:
                history = [Message("user", "what is twelve times thirty four")]
                first = [piece async for piece in brain.reply(history)]
                second = [piece async for piece in brain.reply(history)]  # one session, reused
                assert first == second
                return first
            finally:
                await brain.aclose()

    pieces = asyncio.run(asyncio.wait_for(run(), 30))
    assert pieces == ["Twelve times ", "thirty four is ", "four hundred and eight."]
    body = seen[0]["body"]
    assert body["model"] == "stand-in" and body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": SPOKEN_STYLE},
        {"role": "user", "content": "what is twelve times thirty four"},
    ]
    assert seen[0]["auth"] == "Bearer sk-test"


def test_the_session_instructions_replace_the_default_style_and_no_key_sends_no_header() -> None:
    seen: list[dict[str, Any]] = []

    async def run() -> list[str]:
        async with server(streaming([chunk("Hi."), b"data: [DONE]\n\n"], seen)) as url:
            brain = ChatBrain(url + "/chat/completions", "m", max_tokens=None)
            history = [Message("system", "Be terse."), Message("user", "hello")]
            try:
                return [piece async for piece in brain.reply(history)]
            finally:
                await brain.aclose()

    assert asyncio.run(run()) == ["Hi."]
    assert seen[0]["body"]["messages"][0] == {"role": "system", "content": "Be terse."}
    assert "max_tokens" not in seen[0]["body"]
    assert seen[0]["auth"] is None


def test_an_http_error_or_a_bad_chunk_is_a_chat_error() -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.Response(status=401, text='{"error": "bad key"}')

    async def run(handler: Handler) -> None:
        async with server(handler) as url:
            brain = ChatBrain(url, "m")
            try:
                async for _ in brain.reply([Message("user", "hi")]):
                    pass
            finally:
                await brain.aclose()

    with pytest.raises(ChatError, match="401"):
        asyncio.run(run(refuse))
    with pytest.raises(ChatError, match="not a chat completion chunk"):
        asyncio.run(run(streaming([b"data: {not json}\n\n"], [])))
