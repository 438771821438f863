"""``RTCConfiguration`` and ``RTCIceServer`` (W3C webrtc-pc §4.2.1, §4.2.2), aiortc-shaped.

Only what the stack uses is read: the first STUN and the first TURN (UDP) server of
``iceServers``, ``iceTransportPolicy``, ``bundlePolicy`` (BUNDLE is always offered),
``alwaysNegotiateDataChannels`` and ``certificates``. The two policies take aiortc's enums
(:class:`RTCBundlePolicy`, :class:`RTCIceTransportPolicy`) or W3C's strings; either way the
field holds the enum, which is a ``str`` equal to the W3C string. Everything non-standard goes
through :class:`pywebrtc.SettingEngine`.

Without ``certificates``, a peer connection uses :func:`default_certificate`: one ECDSA P-256
certificate for every peer connection of the process, made by the first that needs it and
replaced once a day (it is valid for 30 days, so a connection outlives its certificate's reuse
by far). That saves generating a key and signing a certificate per connection (about 0.2 ms of
CPU each), as a server presenting one identity would; the price is that a remote peer seeing
two connections of this process can tell they share it by the ``a=fingerprint``. An
application that must not be linkable passes its own: ``RTCConfiguration(certificates=
[Certificate.generate()])`` for each connection (W3C webrtc-pc §4.4.1.4: the application's
certificates are used, else the user agent provides one).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Literal

from pywebrtc.dtls import Certificate


@dataclass(slots=True)
class RTCIceServer:
    """One STUN or TURN server: ``urls`` like ``stun:host:3478`` or
    ``turn:host:3478?transport=udp``."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = field(default=None, repr=False)  # a secret: not in logs
    credentialType: str = "password"

    @property
    def url_list(self) -> list[str]:
        return [self.urls] if isinstance(self.urls, str) else list(self.urls)


class RTCBundlePolicy(enum.StrEnum):
    """W3C webrtc-pc §4.2.5 RTCBundlePolicy (aiortc's enum names). We always offer BUNDLE
    (RFC 9143) and gather for one transport, as ``max-bundle`` does; an answerer that does
    not bundle gets a transport per section from us all the same."""

    BALANCED = "balanced"
    MAX_COMPAT = "max-compat"
    MAX_BUNDLE = "max-bundle"


class RTCIceTransportPolicy(enum.StrEnum):
    """W3C webrtc-pc §4.2.4 RTCIceTransportPolicy: ``relay`` uses TURN candidates only."""

    ALL = "all"
    RELAY = "relay"


@dataclass(slots=True)
class RTCConfiguration:
    iceServers: list[RTCIceServer] | None = None
    iceTransportPolicy: RTCIceTransportPolicy | Literal["all", "relay"] = RTCIceTransportPolicy.ALL
    bundlePolicy: RTCBundlePolicy | Literal["balanced", "max-compat", "max-bundle"] = (
        RTCBundlePolicy.MAX_BUNDLE
    )
    # aiortc's (and W3C webrtc-extensions'): offer a data section before any channel exists,
    # so that channels made later need no renegotiation.
    alwaysNegotiateDataChannels: bool = False
    certificates: list[Certificate] = field(default_factory=list)

    def __post_init__(self) -> None:
        # ValueError for a policy that is neither the enum nor one of its strings.
        self.iceTransportPolicy = RTCIceTransportPolicy(self.iceTransportPolicy)
        self.bundlePolicy = RTCBundlePolicy(self.bundlePolicy)


# How long the process-wide default certificate is reused before a new one is made.
DEFAULT_CERTIFICATE_REUSE = 24 * 3600.0
_default: tuple[float, Certificate] | None = None


def default_certificate() -> Certificate:
    """The certificate of every peer connection made without ``certificates`` (see the module
    docstring): made once, replaced after :data:`DEFAULT_CERTIFICATE_REUSE` seconds."""
    global _default
    now = time.monotonic()
    if _default is None or now - _default[0] >= DEFAULT_CERTIFICATE_REUSE:
        _default = (now, Certificate.generate())
    return _default[1]


def parse_server_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, transport)`` of a ``stun:``/``stuns:``/``turn:``/``turns:`` URL
    (RFC 7064, RFC 7065); ValueError if it is not one."""
    scheme, sep, rest = url.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in ("stun", "stuns", "turn", "turns"):
        raise ValueError(f"not a STUN/TURN URL: {url!r}")
    rest, _, query = rest.partition("?")
    transport = "udp"
    for item in query.split("&") if query else ():
        key, _, value = item.partition("=")
        if key == "transport":
            transport = value.lower()
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port_text = rest.partition(":")
    default = 5349 if scheme.endswith("s") else 3478
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    if not host or not 0 < port < 65536:
        raise ValueError(f"bad host or port in {url!r}")
    return scheme, host, port, transport
