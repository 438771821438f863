"""The usage shown in the package docstring works as written."""

from __future__ import annotations

from pywebrtc import stun


def test_answering_and_sending_a_connectivity_check() -> None:
    local_key = stun.short_term_key("local-pwd-0123456789ab")
    remote_key = stun.short_term_key("remote-pwd-0123456789a")
    client_addr = ("203.0.113.5", 50000)
    datagram = stun.binding_request(
        stun.new_transaction_id(),
        "LOCALUFRAG:remoteufrag",
        local_key,
        priority=0x6E7F1EFF,
        controlling=True,
        tie_breaker=0x0123456789ABCDEF,
        use_candidate=True,
    )

    request = stun.Message.parse(datagram)
    assert request.method == stun.Method.BINDING and request.verify_integrity(local_key)
    reply = stun.binding_success(request.transaction_id, client_addr, local_key)
    assert stun.Message.parse(reply).xor_mapped_address == client_addr

    data = stun.binding_request(
        stun.new_transaction_id(),
        "remoteufrag:LOCALUFRAG",
        remote_key,
        priority=1,
        controlling=True,
        tie_breaker=2,
        use_candidate=True,
    )
    assert stun.Message.parse(data).verify_integrity(remote_key)


def test_general_path_and_420() -> None:
    msg = stun.Message.create(
        stun.Method.ALLOCATE,
        stun.MessageClass.REQUEST,
        [stun.RequestedTransport(), stun.Username("u"), stun.Realm("r"), stun.Nonce("n")],
    )
    data = msg.encode(stun.long_term_key("u", "r", "pw"), fingerprint=True)
    request = stun.Message.parse(data)
    assert request.verify_integrity(stun.long_term_key("u", "r", "pw"))
    assert request.verify_fingerprint()
    assert request.unknown_comprehension_required() == ()
    odd = stun.Message.parse(
        bytes(
            stun.Message(
                stun.Method.ALLOCATE,
                stun.MessageClass.REQUEST,
                msg.transaction_id,
                ((0x0031, b""),),
            )
        )
    )
    reply = odd.error_response(
        420, attributes=[stun.UnknownAttributes(odd.unknown_comprehension_required())]
    )
    parsed = stun.Message.parse(reply.encode(fingerprint=True))
    assert parsed.unknown_attributes == (0x0031,)
    assert parsed.error_code == stun.ErrorCode(420, "Unknown Attribute")
