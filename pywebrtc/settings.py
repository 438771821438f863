"""``SettingEngine``: the knobs W3C does not have (Pion's ``SettingEngine`` in Python).

A SettingEngine is passed to ``RTCPeerConnection``; ICE gets only its part,
:meth:`SettingEngine.ice_config` (a :class:`pywebrtc.ice.config.IceConfig`). Every setter
validates its argument and raises a ``ValueError`` subclass on a bad value; nothing is silently
replaced.

ICE credentials: either fixed with :meth:`set_ice_credentials` (used for the first gathering; an
ICE restart then draws fresh ones) or drawn per session, the ufrag from the generator given to
:meth:`set_ufrag_generator`. **Generator contract:** every ufrag it returns must be 4-256 ICE
characters (checked here) and carry at least 24 random bits (RFC 8445 §5.3; not checkable, so
the caller's duty).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from pywebrtc.dtls.keyexchange import TLS13_GROUPS
from pywebrtc.dtls.messages13 import DTLS_1_3
from pywebrtc.dtls.record import DTLS_1_2
from pywebrtc.ice.config import AgentConfig, IceConfig
from pywebrtc.ice.credentials import Credentials, UfragGenerator, validate_pwd, validate_ufrag
from pywebrtc.ice.errors import IceError

if TYPE_CHECKING:
    from pywebrtc.ice.udpmux import UdpMux


class SettingError(IceError):
    """A SettingEngine value out of range."""


# DTLS 1.3 preferred, 1.2 for peers without it (Chromium and Firefox pass with 1.3 in full
# sessions: conformance/browser/test_audio.py).
DEFAULT_DTLS_VERSIONS: tuple[int, ...] = (DTLS_1_3, DTLS_1_2)


class SettingEngine:
    """Non-standard settings for ICE, DTLS and media that the W3C API does not carry."""

    def __init__(self) -> None:
        self._credentials: Credentials | None = None
        self._credentials_used = False
        self._ufrag_generator: UfragGenerator | None = None
        self.ice_lite = False
        self.udp_muxes: tuple[UdpMux, ...] = ()
        self.nat_1to1_ips: tuple[str, ...] = ()
        self.nat_1to1_candidate_type: Literal["host", "srflx"] = "host"
        self.port_range: tuple[int, int] | None = None
        self.include_loopback = False
        self.ice_tcp = False
        self.agent_config = AgentConfig()
        # DTLS (used by RTCPeerConnection): our role when we answer, and the first
        # retransmission timeout of a handshake flight (seconds).
        self.answering_dtls_role: Literal["client", "server"] = "client"
        self.dtls_initial_timeout = 0.2
        # DTLS versions, preferred first (0xFEFC = 1.3, 0xFEFD = 1.2), and TLS 1.3 key groups.
        self.dtls_versions: tuple[int, ...] = DEFAULT_DTLS_VERSIONS
        self.dtls13_groups: tuple[int, ...] = TLS13_GROUPS
        # Media: decode remote audio to av.AudioFrame (True) or hand Opus packets through.
        self.audio_decode = True
        self.audio_forward = False  # raw tracks get packets on receipt, no jitter buffer
        self.audio_hurry = False  # after a burst, deliver faster instead of dropping frames
        self.opus_application = "audio"
        self.opus_complexity = 5
        self.opus_bitrate = 32000
        self.opus_fec: bool | None = None
        self.opus_dtx: bool | None = None
        # RTCP: the minimum report interval of each audio RTP session (RFC 3550 §6.2), seconds.
        self.rtcp_report_interval = 1.0
        # Video: decode remote video to av.VideoFrame (True) or hand encoded frames through.
        self.video_decode = True
        # Video encoders: the most the bandwidth estimate may give each (bit/s, frames a second).
        self.video_max_bitrate = 4_000_000
        self.video_max_framerate = 30.0

    # --- credentials -------------------------------------------------------------------------
    def set_ice_credentials(self, ufrag: str, pwd: str) -> None:
        """Fix the local ufrag and password (validated: ICE chars, ufrag 4-256, pwd 22-256)."""
        self._credentials = Credentials(validate_ufrag(ufrag), validate_pwd(pwd))
        self._credentials_used = False

    def set_ufrag_generator(self, fn: Callable[[], str]) -> None:
        """Draw each local ufrag from ``fn()`` (see the module docstring for its contract)."""
        if not callable(fn):
            raise SettingError("ufrag generator must be callable")
        self._ufrag_generator = fn

    def next_local_credentials(self) -> Credentials:
        """The credentials for a new session or an ICE restart."""
        if self._credentials is not None and not self._credentials_used:
            self._credentials_used = True
            return self._credentials
        return Credentials.generate(self._ufrag_generator)

    def ice_config(self) -> IceConfig:
        """The ICE part of these settings for one new session, whose credentials are drawn
        here (:meth:`next_local_credentials`): call it once per session."""
        return IceConfig(
            credentials=self.next_local_credentials(),
            ufrag_generator=self._ufrag_generator,
            ice_lite=self.ice_lite,
            udp_muxes=self.udp_muxes,
            nat_1to1_ips=self.nat_1to1_ips,
            nat_1to1_candidate_type=self.nat_1to1_candidate_type,
            port_range=self.port_range,
            include_loopback=self.include_loopback,
            ice_tcp=self.ice_tcp,
            agent_config=self.agent_config,
        )

    # --- DTLS ---------------------------------------------------------------------------------
    def set_answering_dtls_role(self, role: Literal["client", "server"]) -> None:
        """The DTLS role we take in answers: ``client`` (``a=setup:active``, the default, as
        RFC 8842 §5.3 recommends) or ``server`` (``a=setup:passive``)."""
        if role not in ("client", "server"):
            raise SettingError(f"DTLS role must be 'client' or 'server': {role!r}")
        self.answering_dtls_role = role

    def set_dtls_retransmission_interval(self, seconds: float) -> None:
        """First DTLS flight retransmission timeout (RFC 6347 §4.2.4.1 says 1 s)."""
        if not 0 < seconds <= 60:
            raise SettingError(f"DTLS retransmission interval out of range: {seconds!r}")
        self.dtls_initial_timeout = float(seconds)

    def set_dtls_versions(self, *versions: Literal["1.3", "1.2"]) -> None:
        """DTLS versions we offer and accept, preferred first: ``("1.3", "1.2")`` lets peers
        with DTLS 1.3 (RFC 9147) use it and the rest 1.2."""
        table = {"1.3": DTLS_1_3, "1.2": DTLS_1_2}
        if (
            not versions
            or any(v not in table for v in versions)
            or len(set(versions)) != len(versions)
        ):
            raise SettingError(f"DTLS versions must be '1.3' and/or '1.2': {versions!r}")
        self.dtls_versions = tuple(table[v] for v in versions)

    def set_dtls13_groups(self, *groups: int) -> None:
        """DTLS 1.3 key exchange groups, preferred first (NamedGroup values: X25519MLKEM768,
        X25519, SECP256R1); the first is the one our ClientHello sends a key share for."""
        if not groups or any(g not in TLS13_GROUPS for g in groups):
            raise SettingError(f"DTLS 1.3 groups must be among {TLS13_GROUPS!r}: {groups!r}")
        self.dtls13_groups = tuple(int(g) for g in groups)

    # --- media -------------------------------------------------------------------------------
    def set_audio_decode(self, decode: bool, *, forward: bool = False, hurry: bool = False) -> None:
        """With False, remote audio tracks return the encoded Opus packets (``av.Packet``)
        undecoded: what a bridge to a speech model wants. Per transceiver:
        ``addTransceiver(..., decode=False)``.

        ``forward`` (for raw tracks): each packet goes to the track as it arrives, without
        jitter buffer or playout clock (duplicates dropped, reordering passed on, losses not
        marked), so an echo or a relay sends it on at once with its own timestamp; without
        it, raw tracks are played out every 20 ms in order, as decoded ones are.

        ``hurry``: when a burst fills the jitter buffer past its target (the sender or this
        process stalled), tracks get two frames per 20 ms until it is back, instead of losing
        frames to catch up: what speech recognition wants, as it does not play the audio out."""
        self.audio_decode = bool(decode)
        self.audio_forward = bool(forward)
        self.audio_hurry = bool(hurry)

    def set_rtcp_report_interval(self, seconds: float) -> None:
        """The minimum interval of our audio RTCP reports (SR/RR + SDES; RFC 3550 §6.2, §6.3.1:
        the randomised interval is drawn around it). 1 s by default, for fresh loss and
        round-trip figures; libwebrtc uses 5 s for audio, which costs a server of many
        sessions a fifth of the reports. 0.1 to 60 s."""
        if not 0.1 <= seconds <= 60.0:
            raise SettingError(f"RTCP report interval must be 0.1-60 s: {seconds!r}")
        self.rtcp_report_interval = float(seconds)

    def set_video_decode(self, decode: bool) -> None:
        """With False, remote video tracks return each encoded frame (``av.Packet``, see
        :class:`~pywebrtc.media.EncodedVideoTrack`) undecoded: what a relay or a recorder of
        the encoded stream wants. Per transceiver: ``addTransceiver("video", decode=False)``."""
        self.video_decode = bool(decode)

    def set_video_limits(self, max_bitrate: int = 4_000_000, max_framerate: float = 30.0) -> None:
        """The most each video encoder sends (bit/s; the encoders' own range is 50 kbit/s to
        4 Mbit/s) and frames a second it encodes (faster sources have frames dropped), however
        much the transport's bandwidth estimate allows."""
        if max_bitrate <= 0 or max_framerate <= 0:
            raise ValueError("video limits must be positive")
        self.video_max_bitrate = int(max_bitrate)
        self.video_max_framerate = float(max_framerate)

    def set_opus_encoder(
        self,
        *,
        application: str = "audio",
        complexity: int = 5,
        bitrate: int = 32000,
        fec: bool | None = None,
        dtx: bool | None = None,
    ) -> None:
        """How local audio is encoded to Opus. ``application``: "audio" (default; CELT on a
        clean path, SILK with in-band FEC once the peer's RTCP reports loss), "voip" (SILK or
        hybrid coding always: ~3x the CPU at these rates), "lowdelay" (CELT only, never FEC).
        ``complexity`` 0-10 (libopus's own default is 10). ``bitrate`` in bit/s, capped by the
        peer's maxaveragebitrate. ``fec``/``dtx`` None: as the peer's fmtp asks
        (useinbandfec, usedtx)."""
        if application not in ("audio", "voip", "lowdelay"):
            raise SettingError(f"Opus application is audio, voip or lowdelay: {application!r}")
        if not 0 <= complexity <= 10:
            raise SettingError(f"Opus complexity is 0-10: {complexity!r}")
        if not 6000 <= bitrate <= 510000:
            raise SettingError(f"Opus bitrate is 6000-510000 bit/s: {bitrate!r}")
        self.opus_application = application
        self.opus_complexity = int(complexity)
        self.opus_bitrate = int(bitrate)
        self.opus_fec = fec
        self.opus_dtx = dtx

    # --- ICE behaviour -----------------------------------------------------------------------
    def set_lite(self, lite: bool) -> None:
        """Act as an ICE-lite agent (RFC 8445 §2.5): answer checks, never send them."""
        self.ice_lite = bool(lite)

    def set_udp_mux(self, mux: UdpMux | Sequence[UdpMux] | None) -> None:
        """Serve ICE for every session on the mux's one socket instead of a socket each; give
        one mux per address family (e.g. IPv4 and IPv6) to offer a host candidate on each.
        The mux's local address is the host candidate, so bind it to a concrete IP (not a
        wildcard) or advertise the public one with :meth:`set_nat_1to1_ips`."""
        if mux is None:
            self.udp_muxes = ()
        elif isinstance(mux, Sequence):
            self.udp_muxes = tuple(mux)
        else:
            self.udp_muxes = (mux,)

    def set_nat_1to1_ips(
        self, ips: Sequence[str], candidate_type: Literal["host", "srflx"] = "host"
    ) -> None:
        """Advertise these public IPs (one per address family) for the local host candidates:
        as the host candidates themselves (``host``) or as extra server-reflexive ones."""
        checked = []
        for ip in ips:
            try:
                checked.append(str(ipaddress.ip_address(ip)))
            except ValueError as exc:
                raise SettingError(f"NAT 1:1 address is not an IP address: {ip!r}") from exc
        if candidate_type not in ("host", "srflx"):
            raise SettingError(f"NAT 1:1 candidate type must be host or srflx: {candidate_type!r}")
        self.nat_1to1_ips = tuple(checked)
        self.nat_1to1_candidate_type = candidate_type

    def set_ephemeral_udp_port_range(self, low: int, high: int) -> None:
        """Bind local sockets in ``[low, high]``."""
        if not (1 <= low <= high <= 65535):
            raise SettingError(f"bad UDP port range {low}-{high}")
        self.port_range = (low, high)

    def set_include_loopback(self, include: bool) -> None:
        """Gather loopback host candidates too (tests, single-machine demos)."""
        self.include_loopback = bool(include)

    def set_ice_tcp(self, enabled: bool) -> None:
        """Also gather ``tcptype active`` host candidates (RFC 6544), which connect to a remote
        ``tcptype passive`` candidate (``pywebrtc-relay --listen-tcp``) where UDP is blocked."""
        self.ice_tcp = bool(enabled)

    def set_ice_timeouts(
        self,
        disconnected: float | None = None,
        failed: float | None = None,
        consent_interval: float | None = None,
        consent_timeout: float | None = None,
    ) -> None:
        """Pion's ``SetICETimeouts`` plus RFC 7675 consent timing (seconds)."""
        changes = {
            k: v
            for k, v in {
                "disconnected_timeout": disconnected,
                "failed_timeout": failed,
                "consent_interval": consent_interval,
                "consent_timeout": consent_timeout,
            }.items()
            if v is not None
        }
        self.agent_config = self.agent_config.replace(**changes)

    def set_check_timing(
        self,
        ta: float | None = None,
        rto: float | None = None,
        max_attempts: int | None = None,
        nomination_settle: float | None = None,
    ) -> None:
        """Pacing Ta, check RTO and attempts, and the controlling agent's nomination settle."""
        changes: dict[str, float] = {}
        if ta is not None:
            changes["ta"] = ta
        if rto is not None:
            changes["check_rto"] = rto
            changes["max_rto"] = max(rto, self.agent_config.max_rto)
        if max_attempts is not None:
            changes["max_check_attempts"] = max_attempts
        if nomination_settle is not None:
            changes["nomination_settle"] = nomination_settle
        self.agent_config = self.agent_config.replace(**changes)
