"""The configuration of ICE: :class:`AgentConfig` (timing and policy knobs of one agent, with
their RFC sources; all times are seconds) and :class:`IceConfig` (everything the ICE
:class:`~pywebrtc.ice.Connection` reads: credentials, lite, muxes, NAT 1:1, ports, interfaces,
and the agent's config).

:meth:`pywebrtc.SettingEngine.ice_config` builds an :class:`IceConfig` from its setters; ICE
never sees the SettingEngine (which also carries DTLS and Opus settings) and does not import it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pywebrtc.ice.credentials import Credentials, UfragGenerator
from pywebrtc.ice.errors import IceError

if TYPE_CHECKING:
    from pywebrtc.ice.udpmux import UdpMux


@dataclass(frozen=True, slots=True)
class AgentConfig:
    # RFC 8445 §14.2: Ta, the pacing of ordinary checks. WebRTC peers use small values; RFC 8445
    # lets the agent pick Ta as long as the overall rate stays reasonable. Triggered checks are
    # not paced by Ta here: they go out as soon as they are queued.
    ta: float = 0.005
    # RFC 8445 §14.3: RTO of a connectivity check (a floor: the RFC formula also scales with the
    # number of waiting pairs), doubled per retransmission, at most ``max_check_attempts`` sends.
    check_rto: float = 0.5
    max_rto: float = 3.0
    max_check_attempts: int = 7
    # Regular nomination (RFC 8445 §8.1.1): the controlling agent nominates the best valid pair
    # at once if no higher-priority pair is still being checked, otherwise at most this long
    # after the first valid pair appeared.
    nomination_settle: float = 0.05
    # RFC 7675 §5.1: consent checks every 5 s, randomised to 0.8-1.2 of that; consent is lost 30 s
    # after the last authenticated response.
    consent_interval: float = 5.0
    consent_timeout: float = 30.0
    # W3C "disconnected": nothing received on the selected pair for this long (larger than a
    # consent interval so that a healthy but idle pair does not flap).
    disconnected_timeout: float = 7.5
    # Without end-of-candidates (RFC 8838 §8), a checklist with nothing left to check is declared
    # failed only after this long without progress.
    failed_timeout: float = 30.0
    # RFC 8445 §11: Tr, the keepalive interval (a lite agent's Binding indications).
    keepalive_interval: float = 15.0
    # Controlled side: a later nomination of a lower-priority pair is followed only if the
    # selected pair has been silent this long (see Agent._nominate).
    renomination_silence: float = 2.0
    # RFC 8445 §6.1.2.5: limit on the number of candidate pairs.
    max_pairs: int = 100
    # Addresses a remote may use per session before the oldest peer-reflexive ones are forgotten.
    max_remote_candidates: int = 64

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or value <= 0:
                raise IceError(f"AgentConfig.{f.name} must be a positive number, got {value!r}")
        if self.max_rto < self.check_rto:
            raise IceError("AgentConfig.max_rto must not be below check_rto")

    def replace(self, **changes: float) -> AgentConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class IceConfig:
    """What one ICE session (a :class:`~pywebrtc.ice.Connection`) is configured with."""

    # The session's first credentials; None draws them from ``ufrag_generator``. An ICE restart
    # always draws fresh ones (RFC 8445 §9).
    credentials: Credentials | None = None
    # Returns each local ufrag; 4-256 ICE characters and at least 24 random bits (RFC 8445 §5.3).
    ufrag_generator: UfragGenerator | None = None
    # RFC 8445 §2.5: answer checks, never send them.
    ice_lite: bool = False
    # One socket for many sessions (one mux per address family), instead of a socket each.
    udp_muxes: tuple[UdpMux, ...] = ()
    # Public addresses advertised for the host candidates, as host or extra srflx candidates.
    nat_1to1_ips: tuple[str, ...] = ()
    nat_1to1_candidate_type: Literal["host", "srflx"] = "host"
    # Bind local sockets in [low, high].
    port_range: tuple[int, int] | None = None
    # Gather loopback host candidates too.
    include_loopback: bool = False
    # Gather tcptype active host candidates too (RFC 6544; the shell's TcpActive).
    ice_tcp: bool = False
    agent_config: AgentConfig = field(default_factory=AgentConfig)

    def next_local_credentials(self) -> Credentials:
        """Fresh credentials (an ICE restart) from the ufrag generator."""
        return Credentials.generate(self.ufrag_generator)
