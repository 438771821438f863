"""Two sans-IO DTLS endpoints on the simulated network (:mod:`tests.simnet`), and the
certificates they use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pywebrtc.dtls import (
    ApplicationData,
    Certificate,
    ConnectionClosed,
    DtlsConfig,
    DtlsConnection,
    Event,
    HandshakeComplete,
)
from tests.simnet import Datagram, Duplicate, Host, Impairment, Loss, Network, Reorder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dtls"
CLIENT, SERVER = ("192.0.2.1", 5000), ("192.0.2.2", 5000)


def load_certificate(name: str = "ecdsa-p256") -> Certificate:
    return Certificate.from_pem(
        (FIXTURES / f"{name}.crt").read_bytes(), (FIXTURES / f"{name}.key").read_bytes()
    )


@dataclass
class Side:
    """One endpoint: its connection, the events it emitted and the datagrams it sent."""

    host: Host

    @property
    def conn(self) -> DtlsConnection:
        conn: DtlsConnection = self.host.machine
        return conn

    @property
    def events(self) -> list[Event]:
        return self.host.events

    @property
    def sent(self) -> list[bytes]:
        return self.host.sent

    @property
    def completed(self) -> HandshakeComplete | None:
        return next((e for e in self.events if isinstance(e, HandshakeComplete)), None)

    @property
    def closed(self) -> ConnectionClosed | None:
        return next((e for e in self.events if isinstance(e, ConnectionClosed)), None)

    @property
    def data(self) -> list[bytes]:
        return [e.data for e in self.events if isinstance(e, ApplicationData)]


class Pair:
    """A client and a server on ``net`` (hosts named ``client`` and ``server``)."""

    def __init__(self, net: Network, client: DtlsConnection, server: DtlsConnection) -> None:
        self.net = net
        self.client = Side(net.attach(client, CLIENT, peer=SERVER, name="client"))
        self.server = Side(net.attach(server, SERVER, peer=CLIENT, name="server"))

    @property
    def now(self) -> float:
        return self.net.now

    def run(self, until: float = 120.0, stop: Callable[[], bool] | None = None) -> None:
        self.net.run(until, stop)

    def handshake(self, until: float = 120.0) -> None:
        self.client.conn.connect(self.net.now)
        self.run(until, stop=self.both_connected)

    def both_connected(self) -> bool:
        return (
            self.client.conn.is_connected
            and self.server.conn.is_connected
            and not self.net.in_flight
        )


def pair(
    client_cert: str = "ecdsa-p256",
    server_cert: str = "ecdsa-p256",
    *,
    check_fingerprints: bool = True,
    client_config: dict[str, object] | None = None,
    server_config: dict[str, object] | None = None,
    loss: float = 0.0,
    duplicate: float = 0.0,
    reorder: float = 0.0,
    latency: float = 0.01,
    seed: int = 0,
    drop: Callable[[Datagram], bool] | None = None,
    impairments: tuple[Impairment, ...] = (),
) -> Pair:
    ccert, scert = load_certificate(client_cert), load_certificate(server_cert)
    opts_c: dict[str, object] = {
        "remote_fingerprints": (scert.fingerprint(),) if check_fingerprints else ()
    }
    opts_s: dict[str, object] = {
        "remote_fingerprints": (ccert.fingerprint(),) if check_fingerprints else ()
    }
    opts_c.update(client_config or {})
    opts_s.update(server_config or {})
    cfg_c = DtlsConfig(ccert, **opts_c)  # type: ignore[arg-type]
    cfg_s = DtlsConfig(scert, **opts_s)  # type: ignore[arg-type]
    client = DtlsConnection(cfg_c, is_client=True, remote_address=b"server")
    server = DtlsConnection(cfg_s, is_client=False, remote_address=b"client")
    net = Network(
        *impairments, Loss(loss), Duplicate(duplicate), Reorder(reorder, 3 * latency),
        delay=latency, seed=seed,
    )  # fmt: skip
    net.drop = drop
    return Pair(net, client, server)
