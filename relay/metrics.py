"""Prometheus text-format counters for the relay, summed over worker processes.

Each worker publishes its counters about once a second into its row of a shared anonymous
``mmap`` (created before the workers fork); whoever serves ``/metrics`` sums the rows. With
one worker the live counters are served directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import struct
from collections.abc import Callable, Mapping

from relay.forwarder import Drop
from relay.tcp import DROP_REASONS as TCP_DROP_REASONS

log = logging.getLogger(__name__)

# (name, type, help); drop reasons are one labelled family.
COUNTERS: list[tuple[str, str, str]] = [
    ("flows", "gauge", "Flows in the table now."),
    ("flows_created_total", "counter", "Flows created (Binding Request or route cache)."),
    ("flows_expired_total", "counter", "Flows removed after being idle."),
    ("flows_migrated_total", "counter", "Flows moved to another backend by a Binding Request."),
    ("packets_from_clients_total", "counter", "Datagrams forwarded from clients to backends."),
    ("bytes_from_clients_total", "counter", "Payload bytes forwarded from clients."),
    ("packets_to_clients_total", "counter", "Datagrams forwarded from backends to clients."),
    ("bytes_to_clients_total", "counter", "Payload bytes forwarded to clients."),
    ("route_cache_hits_total", "counter", "Flows created from the Redis route cache."),
    ("route_cache_errors_total", "counter", "Failed Redis route cache calls."),
    ("tcp_connections", "gauge", "ICE-TCP client connections open now (--listen-tcp)."),
    ("tcp_connections_accepted_total", "counter", "ICE-TCP connections accepted."),
    (
        "tcp_closed_unroutable_total",
        "counter",
        "ICE-TCP connections closed: first frame unroutable.",
    ),
    ("tcp_frames_to_backend_total", "counter", "RFC 4571 frames forwarded from TCP clients."),
    ("tcp_frames_to_client_total", "counter", "Frames written back to TCP clients."),
]
DROP_REASONS = [reason.value for reason in Drop]
NAMES = (
    [name for name, _, _ in COUNTERS]
    + [f"drops:{r}" for r in DROP_REASONS]
    + [f"tcp_drops:{r}" for r in TCP_DROP_REASONS]
)
_ROW = struct.Struct(f"={len(NAMES)}q")


def render(values: Mapping[str, int], prefix: str = "pywebrtc_relay_") -> str:
    lines: list[str] = []
    for name, kind, text in COUNTERS:
        lines += [
            f"# HELP {prefix}{name} {text}",
            f"# TYPE {prefix}{name} {kind}",
            f"{prefix}{name} {values.get(name, 0)}",
        ]
    lines += [
        f"# HELP {prefix}drops_total Datagrams dropped, by reason.",
        f"# TYPE {prefix}drops_total counter",
    ]
    for reason in DROP_REASONS:
        lines.append(f'{prefix}drops_total{{reason="{reason}"}} {values.get("drops:" + reason, 0)}')
    lines += [
        f"# HELP {prefix}tcp_drops_total ICE-TCP frames or connections dropped, by reason.",
        f"# TYPE {prefix}tcp_drops_total counter",
    ]
    for reason in TCP_DROP_REASONS:
        count = values.get("tcp_drops:" + reason, 0)
        lines.append(f'{prefix}tcp_drops_total{{reason="{reason}"}} {count}')
    return "\n".join(lines) + "\n"


class SharedCounters:
    """One row of int64 counters per worker in shared memory (inherited across fork)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._map = mmap.mmap(-1, max(1, workers) * _ROW.size)

    def publish(self, worker: int, values: Mapping[str, int]) -> None:
        row = [values.get(name, 0) for name in NAMES]
        _ROW.pack_into(self._map, worker * _ROW.size, *row)

    def total(self) -> dict[str, int]:
        totals = dict.fromkeys(NAMES, 0)
        for worker in range(self.workers):
            for name, value in zip(
                NAMES, _ROW.unpack_from(self._map, worker * _ROW.size), strict=True
            ):
                totals[name] += value
        return totals


async def serve(host: str, port: int, snapshot: Callable[[], Mapping[str, int]]) -> asyncio.Server:
    """A minimal HTTP/1.0 server: ``GET /livez`` answers ``ok`` (the liveness probe of
    deploy/k8s, without rendering the counters), every other GET the metrics text."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            if request.startswith(b"GET /livez ") or request.startswith(b"GET /livez?"):
                body, status, ctype = b"ok\n", "200 OK", "text/plain"
            elif request.startswith(b"GET "):
                body = render(snapshot()).encode()
                status, ctype = "200 OK", "text/plain; version=0.0.4"
            else:
                body, status, ctype = b"GET only\n", "405 Method Not Allowed", "text/plain"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)
