"""STUN and TURN code points: methods, classes, attribute types, error codes.

Values come from RFC 8489 §18 (STUN), RFC 8445 §16.1 (ICE attributes), RFC 8656 §18 (TURN
methods and attributes) and RFC 6062 §6 (TURN-TCP methods); each enum names its source. Only the
registry entries this stack can meet are listed; any other value still parses, as a plain int.
"""

from __future__ import annotations

import enum

# RFC 8489 §5: the fixed value in bytes 4-7 of every message; RFC 3489 peers put part of the
# transaction id there instead, which is how they are told apart.
MAGIC_COOKIE = 0x2112A442
MAGIC_COOKIE_BYTES = MAGIC_COOKIE.to_bytes(4, "big")

# RFC 8489 §5: 20-byte header; RFC 8489 §14: 4-byte attribute header, values padded to 4.
HEADER_LENGTH = 20
TRANSACTION_ID_LENGTH = 12

# RFC 8489 §14.7: FINGERPRINT is the CRC-32 of the message XORed with this ("STUN" in ASCII).
FINGERPRINT_XOR = 0x5354554E


class Method(enum.IntEnum):
    """STUN methods (12 bits): RFC 8489 §18.2, RFC 8656 §18, RFC 6062 §6.1."""

    BINDING = 0x001
    ALLOCATE = 0x003
    REFRESH = 0x004
    SEND = 0x006
    DATA = 0x007
    CREATE_PERMISSION = 0x008
    CHANNEL_BIND = 0x009
    CONNECT = 0x00A
    CONNECTION_BIND = 0x00B
    CONNECTION_ATTEMPT = 0x00C


class MessageClass(enum.IntEnum):
    """The two class bits C1 C0 of the message type (RFC 8489 §5)."""

    REQUEST = 0b00
    INDICATION = 0b01
    SUCCESS_RESPONSE = 0b10
    ERROR_RESPONSE = 0b11


class AttributeType(enum.IntEnum):
    """Attribute types. Below 0x8000 they are comprehension-required (RFC 8489 §14)."""

    # RFC 8489 §18.3.1, comprehension-required
    MAPPED_ADDRESS = 0x0001
    USERNAME = 0x0006
    MESSAGE_INTEGRITY = 0x0008
    ERROR_CODE = 0x0009
    UNKNOWN_ATTRIBUTES = 0x000A
    REALM = 0x0014
    NONCE = 0x0015
    XOR_MAPPED_ADDRESS = 0x0020
    MESSAGE_INTEGRITY_SHA256 = 0x001C
    PASSWORD_ALGORITHM = 0x001D
    USERHASH = 0x001E
    # RFC 8656 §18, comprehension-required
    CHANNEL_NUMBER = 0x000C
    LIFETIME = 0x000D
    XOR_PEER_ADDRESS = 0x0012
    DATA = 0x0013
    XOR_RELAYED_ADDRESS = 0x0016
    REQUESTED_ADDRESS_FAMILY = 0x0017
    EVEN_PORT = 0x0018
    REQUESTED_TRANSPORT = 0x0019
    DONT_FRAGMENT = 0x001A
    RESERVATION_TOKEN = 0x0022
    # RFC 8445 §16.1, comprehension-required
    PRIORITY = 0x0024
    USE_CANDIDATE = 0x0025
    # RFC 8489 §18.3.2, comprehension-optional
    PASSWORD_ALGORITHMS = 0x8002
    ALTERNATE_DOMAIN = 0x8003
    SOFTWARE = 0x8022
    ALTERNATE_SERVER = 0x8023
    FINGERPRINT = 0x8028
    # RFC 8656 §18, comprehension-optional
    ADDITIONAL_ADDRESS_FAMILY = 0x8000
    ADDRESS_ERROR_CODE = 0x8001
    ICMP = 0x8004
    # RFC 8445 §16.1, comprehension-optional
    ICE_CONTROLLED = 0x8029
    ICE_CONTROLLING = 0x802A


class ErrorCodeValue(enum.IntEnum):
    """Error response codes: RFC 8489 §14.8, RFC 8445 §7.3.1.1, RFC 8656 §18 (table 6)."""

    TRY_ALTERNATE = 300
    BAD_REQUEST = 400
    UNAUTHENTICATED = 401
    FORBIDDEN = 403
    MOBILITY_FORBIDDEN = 405
    UNKNOWN_ATTRIBUTE = 420
    ALLOCATION_MISMATCH = 437
    STALE_NONCE = 438
    ADDRESS_FAMILY_NOT_SUPPORTED = 440
    WRONG_CREDENTIALS = 441
    UNSUPPORTED_TRANSPORT_PROTOCOL = 442
    PEER_ADDRESS_FAMILY_MISMATCH = 443
    ALLOCATION_QUOTA_REACHED = 486
    ROLE_CONFLICT = 487
    SERVER_ERROR = 500
    INSUFFICIENT_CAPACITY = 508


# Reason phrases suggested by the RFCs above, used when a caller gives none.
DEFAULT_REASONS: dict[int, str] = {
    300: "Try Alternate",
    400: "Bad Request",
    401: "Unauthenticated",
    403: "Forbidden",
    405: "Mobility Forbidden",
    420: "Unknown Attribute",
    437: "Allocation Mismatch",
    438: "Stale Nonce",
    440: "Address Family not Supported",
    441: "Wrong Credentials",
    442: "Unsupported Transport Protocol",
    443: "Peer Address Family Mismatch",
    486: "Allocation Quota Reached",
    487: "Role Conflict",
    500: "Server Error",
    508: "Insufficient Capacity",
}


class PasswordAlgorithmId(enum.IntEnum):
    """PASSWORD-ALGORITHM numbers (RFC 8489 §18.5)."""

    MD5 = 0x0001
    SHA256 = 0x0002


def message_type(method: int, message_class: int) -> int:
    """The 14-bit message type: method bits M11..M0 with C1 and C0 woven in (RFC 8489 §5)."""
    if not 0 <= method <= 0xFFF:
        raise ValueError(f"STUN method out of range: {method:#x}")
    return (
        (method & 0x00F)
        | ((method & 0x070) << 1)
        | ((method & 0xF80) << 2)
        | ((message_class & 1) << 4)
        | ((message_class & 2) << 7)
    )


def split_message_type(value: int) -> tuple[int, int]:
    """``(method, class)`` of a 14-bit message type; the inverse of :func:`message_type`."""
    method = (value & 0x000F) | ((value & 0x00E0) >> 1) | ((value & 0x3E00) >> 2)
    return method, ((value >> 4) & 1) | ((value >> 7) & 2)
