"""The ICE agent: a sans-IO state machine for one data stream (RFC 8445, RFC 8838, RFC 7675).

Feed it datagrams with :meth:`Agent.receive` and the passing of time with :meth:`Agent.tick`;
drain :meth:`Agent.poll` for :class:`Transmit` and events; call back at :meth:`Agent.deadline`.
It never reads a clock or touches a socket.

Implemented: full agents in both roles and ICE-lite (§2.5, §6.1.1), pairing and pruning
(§6.1.2), pacing (§6.1.4.2, with a small Ta; triggered checks are sent at once rather than paced,
but for a pair whose own check is in flight: that one waits for a slot, see ``_triggered_checks``),
checks and their responses (§7.2, §7.3) including peer-reflexive candidates on both sides
(§7.2.5.3.1, §7.3.1.3), symmetric-address checks (§7.2.5.2.1), role conflicts and 487
(§7.2.5.1, §7.3.1.1), regular nomination (§8.1.1) with the controlled side's
USE-CANDIDATE handling (§7.3.1.5), ICE restart (§9), trickle with end-of-candidates (RFC 8838
§8, §11), consent freshness (RFC 7675 §5.1: randomised checks, expiry 30 s after the last
response; a lite agent, which sends no checks, uses the peer's checks instead), server-reflexive
gathering from a STUN server (§5.1.1.2) and the W3C connection states.

Keepalives (RFC 8445 §11): a full agent's consent checks every ~5 s keep NAT bindings open; a
lite agent sends a Binding indication on its selected pair when it has answered no check there
for 15 s. A lite agent answers a consent check on its selected pair in one call
(:meth:`Agent.answer_consent_check`, for a UDP mux to send at once). The first valid pair may
be nominated before lower-priority checks finish (see ``AgentConfig.nomination_settle``), and a
controlled agent follows a later nomination once its selected pair has gone quiet (a browser
changing networks). Until a pair is selected, data may use the component's first valid pair
(§15.1: an agent "can now send and receive data on the pair"; :meth:`Agent.usable_pair`,
announced by :class:`PairValidated`), so DTLS need not wait for the nomination round trip.

Left out: aggressive nomination (deprecated by RFC 8445; a controlled agent copes with a peer
that still does it), the renomination extension, several data streams per agent (one agent per
stream; WebRTC bundles everything into one), and TCP candidates. A check carrying an unknown
comprehension-required attribute gets a 420 (RFC 8489 §6.3.1).

Bad input never raises: malformed STUN, a wrong FINGERPRINT or MESSAGE-INTEGRITY, a USERNAME
that is not ours, and responses to nothing we sent are dropped and counted in
:attr:`Agent.counters`.
"""

from __future__ import annotations

import logging
import math
import random
import socket
import struct
import zlib
from dataclasses import dataclass
from typing import Literal

from pywebrtc.ice.candidate import (
    Address,
    Candidate,
    CandidateType,
    candidate_priority,
    ip_literal,
    normalize_host,
    reflexive_candidate,
)
from pywebrtc.ice.checklist import Checklist
from pywebrtc.ice.config import AgentConfig
from pywebrtc.ice.credentials import Credentials
from pywebrtc.ice.events import (
    GatherDone,
    IceState,
    LocalCandidateGathered,
    Output,
    PairValidated,
    SelectedPairChanged,
    StateChanged,
)
from pywebrtc.ice.pair import CandidatePair, PairState
from pywebrtc.stun import (
    FINGERPRINT_XOR,
    MAGIC_COOKIE,
    Message,
    MessageClass,
    Method,
    StunParseError,
    binding_error,
    binding_request,
    binding_success,
    new_transaction_id,
    read_check,
)
from pywebrtc.stun.integrity import compare_digest, sha1_pads
from pywebrtc.transmit import Transmit

logger = logging.getLogger(__name__)

_ROLE_CONFLICT = 487  # RFC 8445 §7.3.1.1
# Unanswered nomination checks (each one a full STUN transaction) before a valid pair is failed.
_NOMINATION_ATTEMPTS = 3
_unpack_i = struct.Struct("!I").unpack_from
_pack_i = struct.Struct("!I").pack
_pack_h = struct.Struct("!H").pack
_pack_xma_v4 = struct.Struct("!HHHHI").pack
# A consent check's answer (RFC 8489 §14.5, §14.7): Binding success with XOR-MAPPED-ADDRESS
# (12 bytes), its header as sent (length up to FINGERPRINT's end) and as signed (up to
# MESSAGE-INTEGRITY's).
_SUCCESS_HEAD = b"\x01\x01\x00\x2c" + MAGIC_COOKIE.to_bytes(4, "big")
_SUCCESS_MAC_HEAD = b"\x01\x01\x00\x24" + MAGIC_COOKIE.to_bytes(4, "big")
_MI_HEADER = b"\x00\x08\x00\x14"
_FP_HEADER = b"\x80\x28\x00\x04"


def _usable_transport(candidate: Candidate) -> bool:
    """UDP, or a TCP candidate we could connect to (RFC 6544: ``passive``, or ``so``); an
    ``active`` one would need a listening local candidate, which this agent never has."""
    return candidate.transport == "udp" or (
        candidate.transport == "tcp" and candidate.tcptype in ("passive", "so")
    )


def _checkable(candidate: Candidate) -> bool:
    """An IP literal we could send a check to (names go through the I/O layer's resolver)."""
    if candidate.port == 0:
        return False
    ip = ip_literal(candidate.host)
    return ip is not None and not (ip.is_unspecified or ip.is_multicast)


# Shared: each SystemRandom() instance carries an unused 2.5 KiB Mersenne Twister state.
_SYSTEM_RANDOM = random.SystemRandom()
# Consent-check jitter (RFC 7675 §5.1) need not be unpredictable, and SystemRandom costs a
# getrandom() system call per draw: thousands a second on a server with thousands of sessions.
_JITTER = random.Random()
# Deadlines that need no precision (consent checks, randomised by ±20 % anyway; keepalives;
# consent expiry, "disconnected", failure: seconds counted from the last packet) are rounded
# up to the quarter second in :meth:`Agent.deadline`, so that the sessions of a server, due at
# random times, share the event loop's timer wake-ups (a few a second, however many sessions)
# instead of waking it once each.
_SOFT_STEPS = 4.0  # per second


def _soft(t: float) -> float:
    """``t`` rounded up to the quarter second (see _SOFT_STEPS)."""
    return math.ceil(t * _SOFT_STEPS) / _SOFT_STEPS


@dataclass(slots=True)
class IceCounters:
    """Why datagrams were dropped, and how much work was done (for stats and tests)."""

    requests_received: int = 0
    responses_sent: int = 0
    checks_sent: int = 0
    retransmissions: int = 0
    dropped_malformed: int = 0
    dropped_bad_fingerprint: int = 0
    dropped_bad_integrity: int = 0
    dropped_unknown_ufrag: int = 0
    dropped_unmatched_response: int = 0
    dropped_unexpected: int = 0
    dropped_remote_limit: int = 0
    role_conflicts_sent: int = 0
    role_switches: int = 0
    unknown_attributes_rejected: int = 0

    @property
    def dropped(self) -> int:
        return (
            self.dropped_malformed
            + self.dropped_bad_fingerprint
            + self.dropped_bad_integrity
            + self.dropped_unknown_ufrag
            + self.dropped_unmatched_response
            + self.dropped_unexpected
            + self.dropped_remote_limit
        )


TransactionKind = Literal["check", "consent", "gather"]


@dataclass(slots=True, eq=False)
class _Transaction:
    kind: TransactionKind
    data: bytes
    source: Address
    destination: Address
    next_time: float
    rto: float
    pair: CandidatePair | None = None
    use_candidate: bool = False
    controlling: bool = False
    priority: int = 0
    key: bytes = b""
    attempts: int = 1
    max_attempts: int = 7
    # Superseded by a triggered check: no more retransmissions, and no failure on timeout, but
    # a late response still counts (RFC 8445 §7.3.1.4).
    cancelled: bool = False


@dataclass(slots=True)
class _ComponentState:
    selected: CandidatePair | None = None
    nominating: CandidatePair | None = None
    # The first valid pair, usable for data until a pair is selected (RFC 8445 §15.1): the
    # controlled side need not wait for the nomination round trip before starting DTLS.
    usable: CandidatePair | None = None
    first_valid_at: float | None = None
    consent_expires: float = 0.0
    next_consent: float = 0.0
    # After an ICE restart the old pair keeps carrying data until a new one is nominated.
    restarting: bool = False
    # Controlling side: the selected pair was nominated before the peer had checked it, so
    # perhaps before it had our credentials (our answer to its restart offer still on its
    # way): an agent may answer that check without taking the nomination (Firefox does).
    # The peer's first check on the pair then gets the nomination once more.
    renominate: bool = False
    # A lite agent sends no consent checks, so it keeps NAT bindings open with Binding
    # indications (RFC 8445 §11).
    next_keepalive: float = 0.0


class _ConsentAnswer:
    """What a lite agent keeps from one consent check it answered at the mux for the next
    ones (:meth:`Agent.answer_consent_check`): a peer sends the same request every few seconds
    but for the transaction ID, MESSAGE-INTEGRITY and FINGERPRINT, so a request whose header
    and attributes are the bytes :func:`read_check` passed last time needs no parse; the
    keyed SHA-1 states (the server-wide cache cannot hold 10,000 sessions' keys) and the
    answer's XOR-MAPPED-ADDRESS are ready."""

    __slots__ = ("attributes", "credentials", "head", "inner", "mac_head", "outer", "source", "xma")

    def __init__(
        self, credentials: Credentials, source: Address, data: bytes, integrity: int
    ) -> None:
        self.credentials = credentials
        self.source = source
        self.head = data[:8]  # type, length (so the size), cookie
        self.attributes = data[20 : integrity + 4]  # up to MESSAGE-INTEGRITY's header
        # The header as MESSAGE-INTEGRITY covers it: the length ends after that attribute.
        self.mac_head = data[:2] + _pack_h(integrity + 4) + data[4:8]
        self.inner, self.outer = sha1_pads(credentials.pwd.encode())
        host, port = source
        self.xma: bytes | None = None  # an IPv6 answer takes binding_success
        if ":" not in host:
            address = int.from_bytes(socket.inet_aton(host), "big") ^ MAGIC_COOKIE
            self.xma = _pack_xma_v4(0x0020, 8, 1, port ^ (MAGIC_COOKIE >> 16), address)


class Agent:
    """One ICE agent (one data stream, ``components`` components)."""

    def __init__(
        self,
        controlling: bool,
        local_credentials: Credentials | None = None,
        *,
        lite: bool = False,
        components: int = 1,
        config: AgentConfig | None = None,
        tie_breaker: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._rng = rng or _JITTER
        self.config = config or AgentConfig()
        self.lite = lite
        # RFC 8445 §6.1.1: a lite agent is always controlled.
        self.controlling = controlling and not lite
        self.components = components
        self.tie_breaker = (
            tie_breaker if tie_breaker is not None else (rng or _SYSTEM_RANDOM).getrandbits(64)
        )
        self.local_credentials = local_credentials or Credentials.generate()
        # A lite agent's local credentials before the last restart: checks naming them are
        # still answered. libwebrtc keeps pinging its selected connection to an ICE-lite peer
        # with them and creates no connection to the new candidate at the same address. (A
        # full agent drops them: libwebrtc then checks the new generation, and answering its
        # old ports would pair them with our new checks, which they answer under the old key.)
        self._previous_key: tuple[str, bytes] | None = None
        self.remote_credentials: tuple[str, str] | None = None
        self.remote_lite = False
        self.local_candidates: list[Candidate] = []
        self.remote_candidates: list[Candidate] = []
        self.remote_end_of_candidates = False
        self.checklist = Checklist(self.config.max_pairs)
        self.counters = IceCounters()
        self.state = IceState.NEW
        self._local_by_base: dict[tuple[Address, int], Candidate] = {}
        self._remote_by_address: dict[tuple[Address, int], Candidate] = {}
        self._transactions: dict[bytes, _Transaction] = {}
        self._outputs: list[Output] = []  # (a deque costs 760 bytes empty)
        self._components = {c: _ComponentState() for c in range(1, components + 1)}
        self._started = False
        self._next_check_time = 0.0
        self._last_progress = 0.0
        self._now = 0.0  # the latest time we were given
        self._authenticated_from: Address | None = None
        self._consent: _ConsentAnswer | None = None  # see answer_consent_check

    # --- configuration and signalling --------------------------------------------------------

    @property
    def local_ufrag(self) -> str:
        return self.local_credentials.ufrag

    @property
    def local_credentials(self) -> Credentials:
        return self._local_credentials

    @local_credentials.setter
    def local_credentials(self, value: Credentials) -> None:
        self._local_credentials = value
        self._local_key = value.pwd.encode()

    def set_remote_credentials(self, ufrag: str, pwd: str, now: float | None = None) -> None:
        if not ufrag or not pwd:
            raise ValueError("remote ICE ufrag and pwd must not be empty")
        self.remote_credentials = (ufrag, pwd)
        if now is not None:
            self._run(now)

    def set_remote_lite(self, lite: bool) -> None:
        """The peer is ICE-lite: a full agent then takes the controlling role (§6.1.1)."""
        self.remote_lite = lite
        if lite and not self.lite and not self.controlling:
            self._switch_role(True)

    def add_local_candidate(self, candidate: Candidate, now: float | None = None) -> None:
        """Add a local candidate (``base`` must be set); host and relayed ones are paired."""
        if candidate.base is None:
            raise ValueError("a local candidate needs a base address")
        if candidate in self.local_candidates:
            return
        self.local_candidates.append(candidate)
        if candidate.type in (CandidateType.HOST, CandidateType.RELAYED):
            self._local_by_base.setdefault((candidate.base, candidate.component), candidate)
            for remote in self.remote_candidates:
                self.checklist.add(candidate, remote, self.controlling)
        if now is not None:
            self._run(now)

    def add_remote_candidate(self, candidate: Candidate | None, now: float | None = None) -> None:
        """Add a signalled remote candidate; None means end-of-candidates (RFC 8838 §8.2)."""
        if candidate is None:
            self.remote_end_of_candidates = True
        elif _usable_transport(candidate) and _checkable(candidate):
            key = (candidate.address, candidate.component)
            known = self._remote_by_address.get(key)
            if known is not None:
                if known.type is CandidateType.PEER_REFLEXIVE:
                    # The peer-reflexive guess turns out to be a signalled candidate.
                    self._replace_remote(known, candidate)
            elif len(self.remote_candidates) < self.config.max_remote_candidates:
                self._add_remote(candidate)
                if now is not None:
                    self._last_progress = now
        if now is not None:
            self._run(now)

    def _add_remote(self, candidate: Candidate) -> None:
        self.remote_candidates.append(candidate)
        self._remote_by_address[(candidate.address, candidate.component)] = candidate
        for local in self.local_candidates:
            self.checklist.add(local, candidate, self.controlling)

    def _replace_remote(self, old: Candidate, new: Candidate) -> None:
        self.remote_candidates[self.remote_candidates.index(old)] = new
        self._remote_by_address[(new.address, new.component)] = new
        for p in self.checklist:
            if p.remote is old:
                p.remote = new
        self.checklist.recompute_priorities(self.controlling)

    def start(self, now: float) -> None:
        """Begin connectivity checks (a lite agent only answers)."""
        if self.state is IceState.CLOSED:
            return
        if not self._started:
            self._started = True
            self._last_progress = now
            self._set_state(IceState.CHECKING)
        self._run(now)

    def restart(
        self,
        local_credentials: Credentials,
        now: float,
        *,
        keep_local_candidates: bool = True,
    ) -> None:
        """ICE restart (RFC 8445 §9): new local credentials, forget the remote side's candidates
        and checks; the selected pair keeps carrying data until a new one is selected.

        The roles stay: libwebrtc and Pion keep the initial offerer controlling, and a role
        conflict costs round trips (two controlled Pion and pywebrtc agents never resolved
        theirs in conformance/pion). With ``keep_local_candidates=False`` the local
        candidates are forgotten too, for the caller to gather new ones (a new interface or
        port); the selected pair's base still answers checks until the new pair takes over.
        W3C states: completed becomes connected (checks run again), and a session whose pair
        has gone quiet or failed is checking until the new pair is selected.
        """
        if self.lite and local_credentials != self.local_credentials:
            self._previous_key = (self.local_credentials.ufrag, self._local_key)
        self.local_credentials = local_credentials
        self.remote_credentials = None
        self.remote_end_of_candidates = False
        self.remote_candidates = []
        self._remote_by_address = {}
        self.checklist = Checklist(self.config.max_pairs)
        self._transactions = {
            t: tx for t, tx in self._transactions.items() if tx.kind == "gather"
        }
        if not keep_local_candidates:
            kept = {
                (c.selected.local_base, n)
                for n, c in self._components.items()
                if c.selected is not None
            }
            self.local_candidates = []
            self._local_by_base = {k: v for k, v in self._local_by_base.items() if k in kept}
        for comp in self._components.values():
            comp.nominating = None
            comp.usable = None
            comp.first_valid_at = None
            # Keep the old pair alive until the new checks have had their chance.
            comp.consent_expires = now + self.config.consent_timeout
            comp.next_consent = now + self.config.consent_interval
            comp.restarting = comp.selected is not None
        self._last_progress = now
        if self.state is IceState.FAILED:
            # A restart is how a failed session recovers (RFC 8445 §9): the old pair is dead.
            for comp in self._components.values():
                comp.selected = None
                comp.restarting = False
        if self._started and self.state is not IceState.CLOSED:
            if not self._all_selected() or self.state is IceState.DISCONNECTED:
                self._set_state(IceState.CHECKING)
            elif self.state is IceState.COMPLETED:
                self._set_state(IceState.CONNECTED)

    def close(self) -> None:
        self._transactions.clear()
        self.checklist = Checklist(self.config.max_pairs)
        self._set_state(IceState.CLOSED)

    # --- queries -----------------------------------------------------------------------------

    def selected_pair(self, component: int = 1) -> CandidatePair | None:
        comp = self._components.get(component)
        return comp.selected if comp is not None else None

    def usable_pair(self, component: int, now: float) -> CandidatePair | None:
        """Before a pair is selected, the first valid pair, which data may use (RFC 8445
        §15.1: an agent "can now send and receive data on the pair") while its consent (RFC
        7675, from the check's response) lasts; None once a pair is selected."""
        comp = self._components.get(component)
        if comp is None or comp.selected is not None or self.state is not IceState.CHECKING:
            return None
        pair = comp.usable
        if pair is None or pair.last_received is None:
            return None
        return pair if now <= pair.last_received + self.config.consent_timeout else None

    @property
    def nominated(self) -> bool:
        """A pair is nominated for every component (and no ICE restart is pending)."""
        return self._all_nominated()

    def authenticated_from(self, address: Address) -> bool:
        """Whether the last datagram given to :meth:`receive` was a request from ``address``
        that passed MESSAGE-INTEGRITY: what a UDP mux needs before it binds the address to
        this agent (knowing the address is not enough: a forged request may reuse it)."""
        return self._authenticated_from == address

    def is_remote_known(self, address: Address) -> bool:
        """Whether ``address`` is a remote candidate: signalled, or learned from an
        authenticated request (what a UDP mux needs before it binds an address to us)."""
        return any(
            (address, c) in self._remote_by_address
            or (comp.selected is not None and comp.selected.remote.address == address)
            for c, comp in self._components.items()
        )

    def consent_ok(self, now: float, component: int = 1) -> bool:
        """Whether RFC 7675 lets us send on the selected pair now."""
        comp = self._components.get(component)
        return (
            comp is not None
            and comp.selected is not None
            and self.state not in (IceState.FAILED, IceState.CLOSED)
            and now <= comp.consent_expires
        )

    # --- sans-IO driving ---------------------------------------------------------------------

    def poll(self) -> Output | None:
        return self._outputs.pop(0) if self._outputs else None

    def deadline(self) -> float | None:
        # Asked after every datagram and timer call of every session: a running minimum, no
        # list, and the checks that only matter while checking behind ``checking``.
        state = self.state
        if state is IceState.CLOSED or state is IceState.FAILED:
            return None
        best: float | None = None
        for tx in self._transactions.values():
            if best is None or tx.next_time < best:
                best = tx.next_time
        checking = self._started and not self.lite and self.remote_credentials is not None
        all_nominated = self._all_nominated()
        if checking and (
            self.checklist.triggered  # triggered checks that wait for a pacing slot
            or (not all_nominated and self.checklist.next_ordinary() is not None)
        ):
            t = self._next_check_time
            if best is None or t < best:
                best = t
        cfg = self.config
        lite = self.lite
        for c, comp in self._components.items():
            sel = comp.selected
            if (
                checking
                and (sel is None or comp.restarting)
                and self.controlling
                and comp.first_valid_at is not None
                and comp.nominating is None
                and self.checklist.valid_pairs(c)
            ):
                t = comp.first_valid_at + cfg.nomination_settle
                if best is None or t < best:
                    best = t
            if sel is None:
                continue
            # The soft deadlines: their earliest, rounded up once (see _SOFT_STEPS).
            soft = comp.consent_expires
            if checking:
                t = comp.next_consent
                if t < soft:
                    soft = t
            if lite:
                t = comp.next_keepalive
                if t < soft:
                    soft = t
            last = sel.last_received
            if (
                last is not None
                and state is not IceState.DISCONNECTED
                and not (comp.restarting and state is IceState.CHECKING)
            ):
                t = last + cfg.disconnected_timeout
                if t < soft:
                    soft = t
            soft = _soft(soft)
            if best is None or soft < best:
                best = soft
        if self._started and not all_nominated:
            # Once passed, the failure timer only matters again when nothing is pending any
            # more, which some other input or timer will tell us: no deadline in the past.
            t = self._last_progress + cfg.failed_timeout
            if t > self._now:
                t = _soft(t)
                if best is None or t < best:
                    best = t
        return best

    def tick(self, now: float) -> None:
        if self.state is IceState.CLOSED:
            return
        for tx_id, tx in list(self._transactions.items()):
            if tx.next_time > now:
                continue
            if tx.attempts >= tx.max_attempts:
                del self._transactions[tx_id]
                self._on_timeout(tx, now)
                continue
            tx.attempts += 1
            tx.rto = min(tx.rto * 2, self.config.max_rto)
            tx.next_time = now + tx.rto
            self.counters.retransmissions += 1
            self._outputs.append(Transmit(tx.data, destination=tx.destination, source=tx.source))
        self._run(now)

    def answer_consent_check(
        self, data: bytes, source: Address, destination: Address, now: float
    ) -> bytes | None:
        """A lite agent's answer to a Binding request on its selected pair (a consent check,
        RFC 7675 §5.1), without :meth:`receive`'s general path; the caller sends it from
        ``destination`` to ``source`` at once. It does what that path would: checks
        FINGERPRINT and MESSAGE-INTEGRITY, renews consent and the pair's last-received time,
        answers with XOR-MAPPED-ADDRESS; it queues nothing for :meth:`poll`, and
        :meth:`deadline` only moves later.

        None when the request needs the general path: not a lite agent, no selected pair (or
        an ICE restart under way), another source or base than the selected pair's, a state
        the request would change (disconnected, connected before completed), another local
        ufrag, an attribute layout :func:`pywebrtc.stun.read_check` leaves to
        :meth:`Message.parse`. USE-CANDIDATE on the selected pair is answered here: nominating
        the selected pair again changes nothing (§7.3.1.5). An empty answer: the request
        failed FINGERPRINT or MESSAGE-INTEGRITY and was dropped and counted."""
        state = self.state
        if not self.lite or not (
            state is IceState.COMPLETED
            or (state is IceState.CONNECTED and not self.remote_end_of_candidates)
        ):
            return None
        components = self._components
        if len(components) != 1:
            return None
        comp = components[1]
        pair = comp.selected
        if (
            pair is None
            or comp.restarting
            or not pair.nominated
            or pair.remote.address != source
            or pair.local.base != destination
        ):
            return None
        size = len(data)
        integrity = size - 32  # MESSAGE-INTEGRITY, then FINGERPRINT at size - 8
        credentials = self._local_credentials
        known = self._consent
        if not (
            known is not None
            and known.credentials is credentials
            and known.source == source
            and data[:8] == known.head
            and data[20 : integrity + 4] == known.attributes
            and data[size - 8 : size - 4] == _FP_HEADER
        ):
            # Not the layout answered last time: read it (the same checks, in full).
            known = None
            check = read_check(data)
            if check is None:
                return None
            try:
                local_ufrag = str(check[0], "utf-8").partition(":")[0]
            except UnicodeDecodeError:
                return None
            if local_ufrag != credentials.ufrag:
                return None
        counters = self.counters
        fingerprint = size - 8
        if zlib.crc32(data[:fingerprint]) ^ FINGERPRINT_XOR != _unpack_i(data, fingerprint + 4)[0]:
            counters.dropped_bad_fingerprint += 1
            return b""
        if known is None:
            known = _ConsentAnswer(credentials, source, data, integrity)
        # HMAC-SHA1 inlined (RFC 8489 §14.5) with the keyed states kept.
        h = known.inner.copy()
        h.update(known.mac_head)
        h.update(data[8:integrity])
        o = known.outer.copy()
        o.update(h.digest())
        if not compare_digest(o.digest(), data[integrity + 4 : fingerprint]):
            counters.dropped_bad_integrity += 1
            return b""
        self._consent = known
        counters.requests_received += 1
        counters.responses_sent += 1
        self._authenticated_from = source
        if now > self._now:
            self._now = now
        pair.last_received = now
        pair.peer_checked = True
        comp.consent_expires = now + self.config.consent_timeout
        comp.next_keepalive = now + self.config.keepalive_interval  # as in _on_request
        xma = known.xma
        if xma is None:
            return binding_success(data[8:20], source, self._local_key)
        # What binding_success builds (tests hold them equal): header, XOR-MAPPED-ADDRESS,
        # MESSAGE-INTEGRITY over them (the length ending there), then FINGERPRINT.
        transaction = data[8:20]
        h = known.inner.copy()
        h.update(_SUCCESS_MAC_HEAD + transaction + xma)
        o = known.outer.copy()
        o.update(h.digest())
        answer = _SUCCESS_HEAD + transaction + xma + _MI_HEADER + o.digest()
        return answer + _FP_HEADER + _pack_i(zlib.crc32(answer) ^ FINGERPRINT_XOR)

    def receive(self, data: bytes, source: Address, destination: Address, now: float) -> bool:
        """Handle one datagram that arrived from ``source`` on local base ``destination``.

        Returns False if it is not STUN (the caller hands it to DTLS/SRTP); True if the agent
        consumed it (handled or dropped and counted). Never raises on bad input.
        """
        self._authenticated_from = None
        if not data or data[0] > 3:
            self._note_data(source, destination, now)
            return False
        if self.state is IceState.CLOSED:
            return True
        try:
            msg = Message.parse(data)
            if msg.method != Method.BINDING:
                self.counters.dropped_unexpected += 1
                return True
            cls = msg.message_class
            if cls is MessageClass.REQUEST:
                self._on_request(msg, source, destination, now)
            elif cls is MessageClass.INDICATION:
                # A Binding indication is a keepalive (RFC 8445 §11): nothing to do but note it.
                self._note_data(source, destination, now)
            else:
                self._on_response(msg, source, destination, now)
        except StunParseError:
            self.counters.dropped_malformed += 1
            return True
        self._run(now)
        return True

    # --- incoming requests (RFC 8445 §7.3) -----------------------------------------------------

    def _on_request(self, msg: Message, source: Address, destination: Address, now: float) -> None:
        counters = self.counters
        if msg.has_fingerprint and not msg.verify_fingerprint():
            counters.dropped_bad_fingerprint += 1
            return
        username = msg.username
        if username is None:
            counters.dropped_unknown_ufrag += 1
            return
        local_ufrag, _, _ = username.partition(":")
        key = self._local_key
        if local_ufrag != self.local_credentials.ufrag:
            previous = self._previous_key
            if previous is None or local_ufrag != previous[0]:
                counters.dropped_unknown_ufrag += 1
                return
            key = previous[1]
        if not msg.verify_integrity(key):
            counters.dropped_bad_integrity += 1
            return
        counters.requests_received += 1
        self._authenticated_from = source
        source = (normalize_host(source[0]), source[1])
        unknown = msg.unknown_comprehension_required()
        if unknown:
            # RFC 8489 §6.3.1: 420 with the attribute types we do not understand.
            counters.unknown_attributes_rejected += 1
            self._outputs.append(
                Transmit(
                    binding_error(
                        msg.transaction_id, 420, key=key, unknown_attributes=unknown
                    ),
                    destination=source,
                    source=destination,
                )
            )
            return

        # §7.3.1.1: role conflicts.
        if not self.lite:
            theirs_controlling = msg.ice_controlling
            theirs_controlled = msg.ice_controlled
            if self.controlling and theirs_controlling is not None:
                if self.tie_breaker >= theirs_controlling:
                    self._send_error(msg, _ROLE_CONFLICT, source, destination, key)
                    return
                self._switch_role(False)
            elif not self.controlling and theirs_controlled is not None:
                if self.tie_breaker >= theirs_controlled:
                    self._switch_role(True)
                else:
                    self._send_error(msg, _ROLE_CONFLICT, source, destination, key)
                    return

        # Find the local candidate (by the base it arrived on) before answering, so that traffic
        # on a base we do not know is not answered.
        local = self._find_local(destination)
        if local is None:
            counters.dropped_unexpected += 1
            return

        self._outputs.append(
            Transmit(
                binding_success(msg.transaction_id, source, key),
                destination=source,
                source=destination,
            )
        )
        counters.responses_sent += 1

        remote = self._remote_by_address.get((source, local.component))
        if remote is None:
            # §7.3.1.3: a peer-reflexive remote candidate.
            priority = msg.priority
            if priority is None:
                return
            remote = self._learn_remote_prflx(source, local.component, priority, now)
            if remote is None:
                counters.dropped_remote_limit += 1
                return
        pair = self.checklist.find((destination, source, local.component))
        if pair is None:
            pair = self.checklist.add(local, remote, self.controlling)
            if pair is None:
                return
        pair.last_received = now
        comp = self._components[pair.component]
        if comp.selected is pair and self.lite:
            comp.consent_expires = now + self.config.consent_timeout
            # RFC 8445 §11: a keepalive is due only after Tr seconds with nothing sent on the
            # pair, and the response just queued is sent on it.
            comp.next_keepalive = now + self.config.keepalive_interval
        pair.peer_checked = True
        if (
            comp.renominate
            and comp.selected is pair
            and not comp.restarting
            and self.controlling
            and self._checking_allowed()
        ):
            comp.renominate = False
            self._send_check(pair, now, use_candidate=True)

        use_candidate = msg.use_candidate and not self.controlling
        if self.lite:
            # A lite agent sends no checks: an authenticated request is all it can know.
            if pair.state is not PairState.SUCCEEDED:
                pair.state = PairState.SUCCEEDED
                pair.valid = True
            if use_candidate:
                self._nominate(pair, now)
            elif (
                (current := comp.selected) is not None
                and current is not pair
                and current.last_received is not None
                and now >= current.last_received + self.config.renomination_silence
            ):
                # The selected pair has gone quiet and the peer's consent check (RFC 7675)
                # comes from a new address: its NAT rebound or it changed networks. A full
                # peer nominates again only on an ICE restart, so follow the check.
                self._nominate(pair, now)
            return
        if pair.state is PairState.SUCCEEDED:
            if use_candidate:
                self._nominate(pair, now)
            return
        if use_candidate:
            pair.nominate_on_success = True
        # §7.3.1.4: a triggered check. For a pair whose own check is in flight it waits for
        # the next pacing slot (see _run).
        self.checklist.trigger(pair)

    def _learn_remote_prflx(
        self, address: Address, component: int, priority: int, now: float
    ) -> Candidate | None:
        if len(self.remote_candidates) >= self.config.max_remote_candidates and not self._evict():
            return None
        candidate = Candidate(
            foundation=f"p{zlib.crc32(address[0].encode())}",
            component=component,
            transport="udp",
            priority=priority,
            host=address[0],
            port=address[1],
            type=CandidateType.PEER_REFLEXIVE,
        )
        self._add_remote(candidate)
        self._last_progress = now
        return candidate

    def _evict(self) -> bool:
        """Forget the oldest peer-reflexive remote candidate not carrying the selected pair."""
        keep = {c.selected.remote for c in self._components.values() if c.selected is not None}
        for cand in self.remote_candidates:
            if cand.type is CandidateType.PEER_REFLEXIVE and cand not in keep:
                self.remote_candidates.remove(cand)
                del self._remote_by_address[(cand.address, cand.component)]
                for p in [p for p in self.checklist if p.remote is cand]:
                    self.checklist.remove(p)
                for t, tx in list(self._transactions.items()):
                    if tx.pair is not None and tx.pair.remote is cand:
                        del self._transactions[t]
                return True
        return False

    def _find_local(self, base: Address) -> Candidate | None:
        base = (normalize_host(base[0]), base[1])
        for component in self._components:
            local = self._local_by_base.get((base, component))
            if local is not None:
                return local
        return None

    def _send_error(
        self, msg: Message, code: int, source: Address, destination: Address, key: bytes
    ) -> None:
        self.counters.role_conflicts_sent += 1
        self._outputs.append(
            Transmit(
                binding_error(msg.transaction_id, code, key=key),
                destination=source,
                source=destination,
            )
        )

    def _switch_role(self, controlling: bool) -> None:
        logger.debug("ICE role switch to %s", "controlling" if controlling else "controlled")
        self.counters.role_switches += 1
        self.controlling = controlling
        self.checklist.recompute_priorities(controlling)

    # --- responses (RFC 8445 §7.2.5) ----------------------------------------------------------

    def _on_response(self, msg: Message, source: Address, destination: Address, now: float) -> None:
        tx = self._transactions.get(msg.transaction_id)
        if tx is None:
            self.counters.dropped_unmatched_response += 1
            return
        if msg.has_fingerprint and not msg.verify_fingerprint():
            self.counters.dropped_bad_fingerprint += 1
            return
        if tx.kind == "gather":
            del self._transactions[msg.transaction_id]
            self._on_gather_response(tx, msg)
            return
        if not msg.verify_integrity(tx.key):
            self.counters.dropped_bad_integrity += 1
            return
        del self._transactions[msg.transaction_id]
        pair = tx.pair
        assert pair is not None
        source = (normalize_host(source[0]), source[1])
        comp = self._components[pair.component]
        # §7.2.5.2.1: the addresses must be symmetric.
        local_base = (normalize_host(destination[0]), destination[1])
        if source != tx.destination or local_base != tx.source:
            self._fail_pair(pair, now)
            return
        if msg.message_class is MessageClass.ERROR_RESPONSE:
            error = msg.error_code
            if error is not None and error.code == _ROLE_CONFLICT and tx.kind == "check":
                # §7.2.5.1: switch to the role opposite to the one we claimed, retry the pair.
                if self.controlling == tx.controlling:
                    self._switch_role(not tx.controlling)
                pair.state = PairState.WAITING
                self.checklist.trigger(pair)
            elif tx.kind == "check":
                self._fail_pair(pair, now)
            return
        pair.last_received = now
        if tx.kind == "consent":
            comp.consent_expires = now + self.config.consent_timeout
            return
        self._on_check_success(tx, pair, msg, now)

    def _on_check_success(
        self, tx: _Transaction, pair: CandidatePair, msg: Message, now: float
    ) -> None:
        mapped = msg.xor_mapped_address
        if mapped is not None:
            mapped = (normalize_host(mapped[0]), mapped[1])
            local = next(
                (
                    c
                    for c in self.local_candidates
                    if c.address == mapped and c.component == pair.component
                ),
                None,
            )
            if local is None:
                # §7.2.5.3.1: a peer-reflexive local candidate, same base as the checked pair.
                local = reflexive_candidate(
                    CandidateType.PEER_REFLEXIVE,
                    mapped,
                    pair.local_base,
                    pair.component,
                    priority=tx.priority,
                )
                self.local_candidates.append(local)
            pair.mapped = local
        first = not pair.valid
        pair.state = PairState.SUCCEEDED
        pair.valid = True
        comp = self._components[pair.component]
        if comp.selected is pair:
            comp.consent_expires = now + self.config.consent_timeout
        if first:
            self.checklist.unfreeze_foundation(pair.foundation)
            if comp.first_valid_at is None:
                comp.first_valid_at = now
        nominate = tx.use_candidate or (not self.controlling and pair.nominate_on_success)
        if first and not nominate and comp.selected is None and comp.usable is None:
            comp.usable = pair
            self._outputs.append(PairValidated(pair.component, pair))
        if nominate:
            self._nominate(pair, now)

    def _fail_pair(self, pair: CandidatePair, now: float) -> None:
        pair.state = PairState.FAILED
        pair.valid = False
        comp = self._components.get(pair.component)
        if comp is not None and comp.nominating is pair:
            comp.nominating = None
        if comp is not None and comp.usable is pair:
            comp.usable = None

    def _on_timeout(self, tx: _Transaction, now: float) -> None:
        if tx.kind == "gather":
            self._outputs.append(GatherDone(tx.source, tx.destination, None))
            return
        pair = tx.pair
        assert pair is not None
        if tx.kind == "consent":
            return
        if tx.cancelled:
            return
        if tx.use_candidate and pair.valid:
            # The pair worked moments ago: a lost nomination is retried a few times before
            # the pair is given up (the peer may already have selected it).
            pair.nomination_failures += 1
            comp = self._components[pair.component]
            if comp.nominating is pair:
                comp.nominating = None
            if pair.nomination_failures < _NOMINATION_ATTEMPTS:
                return
        if tx.use_candidate or pair.state is PairState.IN_PROGRESS:
            self._fail_pair(pair, now)

    # --- nomination and selection (RFC 8445 §8) ---------------------------------------------

    def _nominate(self, pair: CandidatePair, now: float) -> None:
        pair.nominated = True
        comp = self._components[pair.component]
        if comp.nominating is pair:
            comp.nominating = None
        current = comp.selected
        if current is pair:
            return
        if (
            current is not None
            and not comp.restarting
            and current.nominated
            and current.priority > pair.priority
            and (
                self.controlling
                or current.last_received is None
                or now < current.last_received + self.config.renomination_silence
            )
        ):
            # Keep the better pair. A controlled agent still follows a peer that nominates a
            # lower-priority pair once the current one has gone quiet: that is a browser moving
            # to another network, not aggressive nomination racing through its checklist.
            return
        comp.restarting = False
        comp.selected = pair
        comp.renominate = self.controlling and not self.lite and not pair.peer_checked
        comp.usable = None
        comp.consent_expires = now + self.config.consent_timeout
        comp.next_consent = now + self._consent_delay()
        comp.next_keepalive = now + self.config.keepalive_interval
        pair.last_received = now
        self._outputs.append(SelectedPairChanged(pair.component, pair))
        # §8.1.2: stop checking the component's other pairs that were not yet sent.
        for p in list(self.checklist):
            if p.component == pair.component and p.state in (PairState.FROZEN, PairState.WAITING):
                self.checklist.remove(p)

    def _maybe_nominate(self, now: float) -> None:
        if not self.controlling or self.lite:
            return
        for c, comp in self._components.items():
            if (comp.selected is not None and not comp.restarting) or comp.nominating is not None:
                continue
            valid = self.checklist.valid_pairs(c)
            if not valid:
                continue
            best = max(valid, key=lambda p: p.priority)
            settled = (
                comp.first_valid_at is not None
                and now >= comp.first_valid_at + self.config.nomination_settle
            )
            if best.priority >= self.checklist.best_pending_priority(c) or settled:
                comp.nominating = best
                self._send_check(best, now, use_candidate=True)

    def _consent_delay(self) -> float:
        # RFC 7675 §5.1: uniformly random in [0.8, 1.2] of the interval.
        return self.config.consent_interval * self._rng.uniform(0.8, 1.2)

    # --- sending checks (RFC 8445 §7.2.2) -------------------------------------------------------

    def _checking_allowed(self) -> bool:
        return (
            self._started
            and not self.lite
            and self.remote_credentials is not None
            and self.state not in (IceState.CLOSED, IceState.FAILED)
        )

    def _send_check(
        self,
        pair: CandidatePair,
        now: float,
        use_candidate: bool = False,
        kind: TransactionKind = "check",
    ) -> None:
        assert self.remote_credentials is not None
        remote_ufrag, remote_pwd = self.remote_credentials
        local_pref = (pair.local.priority >> 8) & 0xFFFF
        priority = candidate_priority(
            CandidateType.PEER_REFLEXIVE, pair.component, local_pref
        )
        key = remote_pwd.encode()
        transaction_id = new_transaction_id()
        data = binding_request(
            transaction_id,
            f"{remote_ufrag}:{self.local_credentials.ufrag}",
            key,
            priority=priority,
            controlling=self.controlling,
            tie_breaker=self.tie_breaker,
            use_candidate=use_candidate,
        )
        rto = self.config.check_rto
        self._transactions[transaction_id] = _Transaction(
            kind=kind,
            data=data,
            source=pair.local_base,
            destination=pair.remote_address,
            next_time=now + rto,
            rto=rto,
            pair=pair,
            use_candidate=use_candidate,
            controlling=self.controlling,
            priority=priority,
            key=key,
            max_attempts=self.config.max_check_attempts,
        )
        if kind == "check" and pair.state is not PairState.SUCCEEDED:
            pair.state = PairState.IN_PROGRESS
        self.counters.checks_sent += 1
        self._outputs.append(
            Transmit(data, destination=pair.remote_address, source=pair.local_base)
        )

    def gather_server_reflexive(self, base: Address, server: Address, now: float) -> None:
        """Ask the STUN server ``server`` from local base ``base`` for our mapped address
        (RFC 8445 §5.1.1.2); the result comes as :class:`GatherDone` (and
        :class:`LocalCandidateGathered` if it is a new address)."""
        request = Message.create(Method.BINDING, MessageClass.REQUEST)
        data = request.encode(fingerprint=True)
        rto = self.config.check_rto
        self._transactions[request.transaction_id] = _Transaction(
            kind="gather",
            data=data,
            source=base,
            destination=server,
            next_time=now + rto,
            rto=rto,
            max_attempts=self.config.max_check_attempts,
        )
        self._outputs.append(Transmit(data, destination=server, source=base))

    def _on_gather_response(self, tx: _Transaction, msg: Message) -> None:
        mapped = msg.xor_mapped_address or msg.mapped_address
        candidate = None
        if msg.message_class is MessageClass.SUCCESS_RESPONSE and mapped is not None:
            mapped = (normalize_host(mapped[0]), mapped[1])
            base_local = self._find_local(tx.source)
            component = base_local.component if base_local is not None else 1
            if mapped != tx.source and not any(
                c.address == mapped and c.component == component for c in self.local_candidates
            ):
                candidate = reflexive_candidate(
                    CandidateType.SERVER_REFLEXIVE,
                    mapped,
                    tx.source,
                    component,
                    server=tx.destination[0],
                )
                self.local_candidates.append(candidate)
                self._outputs.append(LocalCandidateGathered(candidate))
        self._outputs.append(GatherDone(tx.source, tx.destination, candidate))

    # --- the main step ---------------------------------------------------------------------------

    def _run(self, now: float) -> None:
        self._now = max(self._now, now)
        if self.state in (IceState.CLOSED, IceState.FAILED):
            return
        if self._checking_allowed():
            if self.checklist.triggered:
                self._triggered_checks(now)
            if now >= self._next_check_time and not self._all_nominated():
                ordinary = self.checklist.next_ordinary()
                if ordinary is not None:
                    self._send_check(ordinary, now)
                    self._next_check_time = now + self.config.ta
            self._maybe_nominate(now)
            self._consent_checks(now)
        elif self.lite:
            self._keepalives(now)
        self._update_state(now)

    def _triggered_checks(self, now: float) -> None:
        """Send the triggered checks (RFC 8445 §7.3.1.4) that are due.

        A pair whose own check is in flight and not yet retransmitted (the peer's check crossed
        ours: the usual case, both sides check the best pair at once) waits for the next pacing
        slot (Ta, §6.1.4.2), and is dropped if the check in flight is answered by then: on a
        short path it is, and the second check of the pair each way, with its response (four
        datagrams of a setup's ten), is not sent. When the slot comes first, the check in
        flight is cancelled (no more retransmissions, no failure on timeout; a late response
        still counts) and a fresh one goes out, so a lost first check still costs at most Ta
        rather than a retransmission timeout.
        """
        checklist = self.checklist
        triggered = checklist.triggered
        slot = now >= self._next_check_time
        waiting: list[CandidatePair] = []
        while triggered:
            pair = triggered.pop(0)
            if pair.key not in checklist.by_key or pair.state is PairState.SUCCEEDED:
                continue
            if pair.state is PairState.IN_PROGRESS:
                in_flight = [
                    tx
                    for tx in self._transactions.values()
                    if tx.pair is pair
                    and tx.kind == "check"
                    and not tx.use_candidate
                    and not tx.cancelled
                ]
                if in_flight:
                    if not slot and all(tx.attempts == 1 for tx in in_flight):
                        waiting.append(pair)
                        continue
                    for tx in in_flight:
                        tx.cancelled = True
                        tx.max_attempts = tx.attempts
                    slot = False  # the slot is taken
                    self._next_check_time = now + self.config.ta
            self._send_check(pair, now)
        triggered.extend(waiting)

    def _keepalives(self, now: float) -> None:
        for comp in self._components.values():
            pair = comp.selected
            if pair is None or now < comp.next_keepalive or now >= comp.consent_expires:
                continue  # (RFC 7675 §5.1: no consent, nothing sent)
            comp.next_keepalive = now + self.config.keepalive_interval
            data = Message.create(Method.BINDING, MessageClass.INDICATION).encode(
                fingerprint=True
            )
            self._outputs.append(
            Transmit(data, destination=pair.remote_address, source=pair.local_base)
        )

    def _consent_checks(self, now: float) -> None:
        for comp in self._components.values():
            pair = comp.selected
            # A new check every interval even while an earlier one is still retransmitting
            # (its backoff stretches it over ~15 s): under heavy loss, waiting for it left
            # 20 s and more without a fresh check, and consent expired.
            if pair is None or now < comp.next_consent:
                continue
            comp.next_consent = now + self._consent_delay()
            # The controlling side keeps USE-CANDIDATE on its consent checks of the nominated
            # pair (as libwebrtc does): after a NAT rebinding they reach the controlled side
            # from a new address, and this is what lets it move its selected pair there.
            self._send_check(pair, now, use_candidate=self.controlling, kind="consent")

    # Loops, not all(<generator>): these are asked several times per datagram and per
    # deadline, and a generator costs more than the one or two components it looks at.
    def _all_selected(self) -> bool:
        for c in self._components.values():  # noqa: SIM110
            if c.selected is None:
                return False
        return True

    def _all_nominated(self) -> bool:
        for c in self._components.values():  # noqa: SIM110
            if c.selected is None or c.restarting:
                return False
        return True

    def note_data(self, pair: CandidatePair, now: float) -> None:
        """What :meth:`receive` does with a non-STUN datagram from the selected ``pair``'s
        remote address, without looking the pair up (the connection's datagram fast path)."""
        self._authenticated_from = None
        pair.last_received = now
        if self.state is IceState.DISCONNECTED:
            self._update_state(now)

    def note_authenticated(self, now: float, component: int = 1) -> None:
        """Authenticated data (SRTP or SRTCP that decrypted) arrived on the selected pair.

        For a lite agent this renews consent as a check would: a lite agent only answers
        checks, and some full agents send none while media flows (Pion before ice v4.0.8),
        which would otherwise end a live call after ``consent_timeout``. A full agent's
        consent stays RFC 7675's: its own checks' responses only."""
        if self.lite:
            comp = self._components.get(component)
            if comp is not None and comp.selected is not None:
                comp.consent_expires = now + self.config.consent_timeout

    def _note_data(self, source: Address, destination: Address, now: float) -> None:
        for comp in self._components.values():
            sel = comp.selected
            if sel is not None and sel.remote.address == source:
                sel.last_received = now
                if self.state is IceState.DISCONNECTED:
                    self._update_state(now)
                return

    def _update_state(self, now: float) -> None:
        state = self.state
        if state in (IceState.CLOSED, IceState.FAILED, IceState.NEW):
            return
        comps = self._components.values()
        if self._all_selected():
            # One loop, not three any(<generator>): this runs for every check received.
            expired = restarting = quiet = False
            timeout = self.config.disconnected_timeout
            for c in comps:
                if now >= c.consent_expires:
                    expired = True
                if c.restarting:
                    restarting = True
                sel = c.selected
                if (
                    sel is not None
                    and (last := sel.last_received) is not None
                    and now >= last + timeout
                ):
                    quiet = True
            if expired:
                # RFC 7675 §5.1: consent lost; stop sending.
                logger.info("ICE consent expired")
                self._transactions.clear()
                self._set_state(IceState.FAILED)
                return
            if quiet:
                # W3C: during a restart a quiet pair is "checking" (the new checks may save
                # it), not "disconnected".
                self._set_state(IceState.CHECKING if restarting else IceState.DISCONNECTED)
            elif restarting:
                self._set_state(IceState.CONNECTED)  # the old pair carries data meanwhile
            elif self.remote_end_of_candidates and not self.checklist.pending():
                if state is IceState.CHECKING:
                    self._set_state(IceState.CONNECTED)  # W3C: connected comes first
                self._set_state(IceState.COMPLETED)
            elif state is not IceState.COMPLETED:
                self._set_state(IceState.CONNECTED)
            return
        pending = self.checklist.pending() or any(c.nominating for c in comps)
        timed_out = now >= self._last_progress + self.config.failed_timeout
        if pending or self.checklist.valid_pairs():
            # Valid pairs still wait for the controlling side's nomination, up to the timeout.
            self._set_state(IceState.FAILED if timed_out and not pending else IceState.CHECKING)
        elif (self.remote_end_of_candidates and not self.lite) or timed_out:
            # A lite agent has nothing to check: it fails only when nobody checks it.
            self._set_state(IceState.FAILED)
        else:
            self._set_state(IceState.CHECKING)
        if self.state is IceState.FAILED:
            self._transactions.clear()

    def _set_state(self, state: IceState) -> None:
        if state is not self.state:
            logger.debug("ICE state %s -> %s", self.state, state)
            self.state = state
            self._outputs.append(StateChanged(state))
