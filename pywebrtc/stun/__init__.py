"""STUN wire format: messages, attributes, integrity, fingerprint, TURN ChannelData.

Implements RFC 8489 (STUN) message and attribute encoding with MESSAGE-INTEGRITY,
MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, the ICE attributes of RFC 8445 §7.1, the TURN
attributes and ChannelData of RFC 8656, and the key derivations of RFC 8489 §9. It is a pure
codec: no sockets, clocks or retransmission timers (those live in ``pywebrtc.ice``). Each module
docstring lists what it leaves out; the main omissions are RFC 3489 (cookie-less) messages and
the OpaqueString profiling of passwords.

Malformed input raises :class:`StunParseError` (a ``ValueError``) and nothing else.

Answering an ICE connectivity check (``local_key = stun.short_term_key(local_pwd)``)::

    from pywebrtc import stun

    request = stun.Message.parse(datagram)          # StunParseError: drop the datagram
    if request.method == stun.Method.BINDING and request.verify_integrity(local_key):
        reply = stun.binding_success(request.transaction_id, client_addr, local_key)

Sending one (``remote_key = stun.short_term_key(remote_pwd)``)::

    data = stun.binding_request(stun.new_transaction_id(), f"{remote_ufrag}:{local_ufrag}",
                                remote_key, priority=prio, controlling=True, tie_breaker=tb,
                                use_candidate=True)

The general path, for any method and attribute: typed values go in, ``encode`` adds
MESSAGE-INTEGRITY (``integrity="sha1" | "sha256" | "both"``) and FINGERPRINT::

    msg = stun.Message.create(stun.Method.ALLOCATE, stun.MessageClass.REQUEST,
                              [stun.RequestedTransport(), stun.Username("u"), stun.Realm("r"),
                               stun.Nonce(nonce)])
    data = msg.encode(stun.long_term_key("u", "r", "pw"), fingerprint=True)
    reply = request.error_response(420, attributes=[
        stun.UnknownAttributes(request.unknown_comprehension_required())]).encode()

Reading: ``msg.username``, ``msg.priority``, ``msg.ice_controlling``, ``msg.use_candidate``,
``msg.xor_mapped_address`` ... (None when absent), ``msg.get(stun.Lifetime)`` for any typed
value, ``msg.get_raw(0xC057)`` for the raw bytes of any attribute, ``msg.attributes`` for all
``(type, value)`` pairs.

The relay's fast path: ``stun.read_username(datagram)`` returns the USERNAME of a Binding
request without building a message, or None; ``stun.read_check(datagram)`` does the same for
an ICE agent answering consent checks (USERNAME, USE-CANDIDATE, nothing it would have to refuse).
"""

from .attributes import (
    ATTRIBUTE_VALUE_TYPES,
    KNOWN_ATTRIBUTE_TYPES,
    TRANSPORT_TCP,
    TRANSPORT_UDP,
    AdditionalAddressFamily,
    Address,
    AddressErrorCode,
    AlternateDomain,
    AlternateServer,
    AttributeValue,
    ChannelNumber,
    Data,
    DontFragment,
    ErrorCode,
    EvenPort,
    Fingerprint,
    IceControlled,
    IceControlling,
    Lifetime,
    MappedAddress,
    MessageIntegrity,
    MessageIntegritySha256,
    Nonce,
    PasswordAlgorithm,
    PasswordAlgorithms,
    Priority,
    RawAttribute,
    Realm,
    RequestedAddressFamily,
    RequestedTransport,
    ReservationToken,
    Software,
    UnknownAttributes,
    UseCandidate,
    Userhash,
    Username,
    XorMappedAddress,
    XorPeerAddress,
    XorRelayedAddress,
    decode_address,
    decode_xor_address,
    encode_address,
    encode_tlv,
    encode_xor_address,
)
from .binding import binding_error, binding_request, binding_success
from .channeldata import ChannelData
from .constants import (
    DEFAULT_REASONS,
    FINGERPRINT_XOR,
    HEADER_LENGTH,
    MAGIC_COOKIE,
    AttributeType,
    ErrorCodeValue,
    MessageClass,
    Method,
    PasswordAlgorithmId,
    message_type,
    split_message_type,
)
from .credentials import long_term_key, short_term_key, userhash
from .errors import StunParseError
from .message import IntegrityAlgorithm, Message, new_transaction_id
from .peek import is_stun, read_check, read_username

__all__ = [
    "ATTRIBUTE_VALUE_TYPES",
    "DEFAULT_REASONS",
    "FINGERPRINT_XOR",
    "HEADER_LENGTH",
    "KNOWN_ATTRIBUTE_TYPES",
    "MAGIC_COOKIE",
    "TRANSPORT_TCP",
    "TRANSPORT_UDP",
    "AdditionalAddressFamily",
    "Address",
    "AddressErrorCode",
    "AlternateDomain",
    "AlternateServer",
    "AttributeType",
    "AttributeValue",
    "ChannelData",
    "ChannelNumber",
    "Data",
    "DontFragment",
    "ErrorCode",
    "ErrorCodeValue",
    "EvenPort",
    "Fingerprint",
    "IceControlled",
    "IceControlling",
    "IntegrityAlgorithm",
    "Lifetime",
    "MappedAddress",
    "Message",
    "MessageClass",
    "MessageIntegrity",
    "MessageIntegritySha256",
    "Method",
    "Nonce",
    "PasswordAlgorithm",
    "PasswordAlgorithmId",
    "PasswordAlgorithms",
    "Priority",
    "RawAttribute",
    "Realm",
    "RequestedAddressFamily",
    "RequestedTransport",
    "ReservationToken",
    "Software",
    "StunParseError",
    "UnknownAttributes",
    "UseCandidate",
    "Userhash",
    "Username",
    "XorMappedAddress",
    "XorPeerAddress",
    "XorRelayedAddress",
    "binding_error",
    "binding_request",
    "binding_success",
    "decode_address",
    "decode_xor_address",
    "encode_address",
    "encode_tlv",
    "encode_xor_address",
    "is_stun",
    "long_term_key",
    "message_type",
    "new_transaction_id",
    "read_check",
    "read_username",
    "short_term_key",
    "split_message_type",
    "userhash",
]
