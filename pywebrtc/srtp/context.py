"""SRTP and SRTCP contexts over libsrtp (RFC 3711, RFC 7714 for AES-GCM).

:class:`SrtpContext` is one direction: an *outbound* context protects what we send, an
*inbound* one unprotects what we receive, for every SSRC of the session (libsrtp's
"any inbound/outbound" templates create per-SSRC crypto state, rollover counter and replay
window on first use). :class:`SrtpSession` pairs the two from DTLS-SRTP keys.

libsrtp keeps the packet index (ROC || SEQ, RFC 3711 §3.3.1) and the replay list (RFC 3711
§3.3.2) itself; the replay window here defaults to 1024 packets, wider than libsrtp's 128
because a jitter buffer tolerates reordering well past 128 packets of audio at 50 pkt/s.
Outbound contexts allow the same index to be protected again, which is what an audio NACK
retransmission (same SSRC and sequence number, no RTX) needs.

Key material is copied into libsrtp when a context is created and the staging buffer is then
overwritten; nothing here keeps or logs it.

Errors: bad input raises :class:`SrtpAuthenticationError`, :class:`SrtpReplayError` or
:class:`SrtpError` (all :class:`ValueError`); :attr:`SrtpContext.stats` counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pylibsrtp import ffi, lib  # type: ignore[attr-defined]

from pywebrtc.dtls import SrtpKeys, SrtpProfile

from .errors import SrtpAuthenticationError, SrtpError, SrtpReplayError
from .profile import MasterKey, master_keys

__all__ = ["MAX_PACKET_SIZE", "SrtpContext", "SrtpSession", "SrtpStats"]

# The largest plaintext packet a context accepts; a UDP payload over Ethernet never exceeds it.
MAX_PACKET_SIZE = 1500
# Room libsrtp may add: SRTCP index word (4) + tag (16) + MKI (unused here).
_TRAILER_ROOM = 4 + 16 + 128

# libsrtp's srtp_err_status_t values (srtp.h).
_ERR_AUTH_FAIL = 7
_ERR_REPLAY_FAIL = 9
_ERR_REPLAY_OLD = 10

_LIBSRTP_PROFILE = {
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80: 1,  # srtp_profile_aes128_cm_sha1_80
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32: 2,  # srtp_profile_aes128_cm_sha1_32
    SrtpProfile.SRTP_AEAD_AES_128_GCM: 7,  # srtp_profile_aead_aes_128_gcm
    SrtpProfile.SRTP_AEAD_AES_256_GCM: 8,  # srtp_profile_aead_aes_256_gcm
}
_SSRC_ANY_INBOUND = 2
_SSRC_ANY_OUTBOUND = 3

DEFAULT_REPLAY_WINDOW = 1024  # packets; libsrtp accepts 64..32768

Direction = Literal["inbound", "outbound"]

_srtp_protect = lib.srtp_protect
_srtp_protect_rtcp = lib.srtp_protect_rtcp
_srtp_unprotect = lib.srtp_unprotect
_srtp_unprotect_rtcp = lib.srtp_unprotect_rtcp


@dataclass(slots=True)
class SrtpStats:
    """Counters of one context. Drops are counted whether or not the caller catches them."""

    rtp_packets: int = 0
    rtcp_packets: int = 0
    auth_failures: int = 0
    replays: int = 0
    malformed: int = 0


class SrtpContext:
    """One direction of SRTP + SRTCP for all SSRCs of a session.

    Use :meth:`protect_rtp`/:meth:`protect_rtcp` on an outbound context and
    :meth:`unprotect_rtp`/:meth:`unprotect_rtcp` on an inbound one. Not thread-safe (one
    reusable packet buffer).
    """

    __slots__ = (
        "_buffer",
        "_cdata",
        "_len",
        "_session",
        "_srtp",
        "direction",
        "profile",
        "stats",
    )

    def __init__(
        self,
        master: MasterKey,
        direction: Direction,
        *,
        replay_window: int = DEFAULT_REPLAY_WINDOW,
    ) -> None:
        if direction not in ("inbound", "outbound"):
            raise ValueError("direction must be 'inbound' or 'outbound'")
        if not 64 <= replay_window <= 0x8000:
            raise ValueError("replay window must be 64-32768 packets")
        self.profile = master.profile
        self.direction: Direction = direction
        self.stats = SrtpStats()
        policy = ffi.new("srtp_policy_t *")
        code = _LIBSRTP_PROFILE[master.profile]
        _check(lib.srtp_crypto_policy_set_from_profile_for_rtp(ffi.addressof(policy.rtp), code))
        _check(lib.srtp_crypto_policy_set_from_profile_for_rtcp(ffi.addressof(policy.rtcp), code))
        material = master.key + master.salt
        staging = ffi.new("unsigned char[]", len(material))
        staging[0 : len(material)] = material
        policy.key = staging
        policy.ssrc.type = _SSRC_ANY_INBOUND if direction == "inbound" else _SSRC_ANY_OUTBOUND
        policy.window_size = replay_window
        policy.allow_repeat_tx = 1 if direction == "outbound" else 0
        session = ffi.new("srtp_t *")
        try:
            _check(lib.srtp_create(session, policy))
        finally:
            # libsrtp derived its session keys; do not leave the master key in our heap.
            ffi.memmove(staging, bytes(len(material)), len(material))
        self._srtp = ffi.gc(session, _dealloc)  # owns the libsrtp session
        self._session = session[0]
        self._cdata = ffi.new("unsigned char[]", MAX_PACKET_SIZE + _TRAILER_ROOM)
        self._buffer = ffi.buffer(self._cdata)
        self._len = ffi.new("int *")

    def __repr__(self) -> str:
        return f"<SrtpContext {self.direction} {self.profile.name}>"

    # -- the four operations share one libsrtp calling convention: copy in, call, copy out.

    def protect_rtp(self, packet: bytes) -> bytes:
        """SRTP-protect one serialized RTP packet."""
        return self._apply(_srtp_protect, packet, "outbound", 12, rtcp=False)

    def protect_rtcp(self, packet: bytes) -> bytes:
        """SRTCP-protect one serialized (compound) RTCP packet."""
        return self._apply(_srtp_protect_rtcp, packet, "outbound", 8, rtcp=True)

    def unprotect_rtp(self, packet: bytes) -> bytes:
        """Verify and decrypt one SRTP packet; raises :class:`SrtpError` on bad input."""
        return self._apply(_srtp_unprotect, packet, "inbound", 12, rtcp=False)

    def unprotect_rtcp(self, packet: bytes) -> bytes:
        """Verify and decrypt one SRTCP packet; raises :class:`SrtpError` on bad input."""
        return self._apply(_srtp_unprotect_rtcp, packet, "inbound", 8, rtcp=True)

    def _apply(
        self, call: Callable[..., int], packet: bytes, direction: Direction, minimum: int,
        *, rtcp: bool,
    ) -> bytes:
        if self.direction != direction:
            raise RuntimeError(f"this operation needs an {direction} context")
        n = len(packet)
        if n < minimum or n > MAX_PACKET_SIZE:
            raise self._bad_size(n, minimum)
        self._buffer[0:n] = packet
        length = self._len
        length[0] = n
        rc = call(self._session, self._cdata, length)
        if rc:
            raise self._error(rc)
        if rtcp:
            self.stats.rtcp_packets += 1
        else:
            self.stats.rtp_packets += 1
        return self._buffer[0 : length[0]]  # type: ignore[no-any-return]

    def _bad_size(self, n: int, minimum: int) -> SrtpError:
        self.stats.malformed += 1
        if n < minimum:
            return SrtpError(f"packet is shorter than {minimum} bytes")
        return SrtpError(f"packet is longer than {MAX_PACKET_SIZE} bytes")

    def _error(self, rc: int) -> SrtpError:
        if rc == _ERR_AUTH_FAIL:
            self.stats.auth_failures += 1
            return SrtpAuthenticationError("SRTP authentication failed")
        if rc in (_ERR_REPLAY_FAIL, _ERR_REPLAY_OLD):
            self.stats.replays += 1
            return SrtpReplayError("SRTP packet replayed or older than the replay window")
        self.stats.malformed += 1
        return SrtpError(f"libsrtp error {rc}")


class SrtpSession:
    """The two SRTP contexts of one DTLS-SRTP transport (RFC 5764 §4.2).

    ``outbound`` protects with the local key, ``inbound`` unprotects with the remote key.
    """

    __slots__ = ("inbound", "outbound", "profile")

    def __init__(
        self, local: MasterKey, remote: MasterKey, *, replay_window: int = DEFAULT_REPLAY_WINDOW
    ) -> None:
        if local.profile != remote.profile:
            raise ValueError("both directions must use the same protection profile")
        self.profile = local.profile
        self.outbound = SrtpContext(local, "outbound", replay_window=replay_window)
        self.inbound = SrtpContext(remote, "inbound", replay_window=replay_window)

    @classmethod
    def from_dtls(
        cls, keys: SrtpKeys, *, replay_window: int = DEFAULT_REPLAY_WINDOW
    ) -> SrtpSession:
        """Contexts from :meth:`pywebrtc.dtls.DtlsConnection.srtp_keys`."""
        local, remote = master_keys(keys)
        return cls(local, remote, replay_window=replay_window)

    def __repr__(self) -> str:
        return f"<SrtpSession {self.profile.name}>"

    def protect_rtp(self, packet: bytes) -> bytes:
        return self.outbound.protect_rtp(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self.outbound.protect_rtcp(packet)

    def unprotect_rtp(self, packet: bytes) -> bytes:
        return self.inbound.unprotect_rtp(packet)

    def unprotect_rtcp(self, packet: bytes) -> bytes:
        return self.inbound.unprotect_rtcp(packet)


def _check(rc: int) -> None:
    if rc:
        raise SrtpError(f"libsrtp error {rc}")


def _dealloc(session: object) -> None:
    lib.srtp_dealloc(session[0])  # type: ignore[index]
