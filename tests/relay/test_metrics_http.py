"""The relay's metrics server: ``/livez`` for probes, the counters for every other GET."""

from __future__ import annotations

import asyncio

from relay import metrics


async def _get(port: int, request: bytes) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


def test_livez_answers_ok_and_other_paths_the_counters() -> None:
    async def run() -> list[tuple[bytes, bytes]]:
        server = await metrics.serve("127.0.0.1", 0, lambda: {"flows": 7})
        port = server.sockets[0].getsockname()[1]
        try:
            return [
                await _get(port, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"),
                await _get(port, b"GET /livez?verbose HTTP/1.1\r\n\r\n"),
                await _get(port, b"GET /metrics HTTP/1.1\r\n\r\n"),
                await _get(port, b"GET /livezz HTTP/1.1\r\n\r\n"),
                await _get(port, b"POST /livez HTTP/1.1\r\n\r\n"),
            ]
        finally:
            server.close()
            await server.wait_closed()

    livez, livez_query, counters, other, post = asyncio.run(run())
    assert livez == (b"HTTP/1.0 200 OK", b"ok\n")
    assert livez_query == (b"HTTP/1.0 200 OK", b"ok\n")
    assert counters[0] == b"HTTP/1.0 200 OK"
    assert b"\npywebrtc_relay_flows 7\n" in counters[1]
    assert b"pywebrtc_relay_flows 7" in other[1]  # any other GET is the counters, as before
    assert post[0] == b"HTTP/1.0 405 Method Not Allowed"
