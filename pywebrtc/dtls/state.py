"""The states of a DTLS connection, shared by the connection and its two handshake sides."""

from __future__ import annotations

from enum import Enum

__all__ = ["State"]


class State(Enum):
    IDLE = "idle"
    WAIT_HELLO = "wait-hello"  # client: ServerHello/HVR; server: ClientHello
    WAIT_FLIGHT = "wait-flight"  # client: server's flight 4; server: client's flight 5
    WAIT_FINISHED = "wait-finished"  # client: server's CCS + Finished
    CONNECTED = "connected"
    CLOSED = "closed"
    FAILED = "failed"
