from __future__ import annotations

import logging
import os
import struct

import pytest

from pywebrtc.dtls import SrtpKeys, SrtpProfile
from pywebrtc.srtp import (
    PROFILE_PREFERENCE,
    MasterKey,
    SrtpAuthenticationError,
    SrtpContext,
    SrtpError,
    SrtpReplayError,
    SrtpSession,
    auth_tag_length,
    split_keying_material,
)

from .reference import (
    LABEL_RTP_AUTH,
    LABEL_RTP_ENCRYPTION,
    LABEL_RTP_SALT,
    Reference,
    derive,
)

PROFILE_NAMES = {
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80: "cm80",
    SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32: "cm32",
    SrtpProfile.SRTP_AEAD_AES_128_GCM: "gcm128",
    SrtpProfile.SRTP_AEAD_AES_256_GCM: "gcm256",
}


def rtp(seq: int, ssrc: int = 0x11223344, payload: bytes = b"\xab" * 40, ts: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, 111, seq & 0xFFFF, ts, ssrc) + payload


def rtcp_sr(ssrc: int = 0x11223344) -> bytes:
    return struct.pack("!BBHIQIII", 0x80, 200, 6, ssrc, 1 << 40, 1234, 10, 1000)


def key_for(profile: SrtpProfile, fill: int = 1) -> MasterKey:
    return MasterKey(
        profile, bytes(range(fill, fill + profile.key_length)), bytes(range(profile.salt_length))
    )


def test_rfc3711_b3_key_derivation_vectors() -> None:
    # RFC 3711 Appendix B.3 checks the oracle's key derivation, which the tests below use to
    # check libsrtp through our contexts byte for byte.
    key = bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139")
    salt = bytes.fromhex("0EC675AD498AFEEBB6960B3AABE6")
    assert derive(key, salt, LABEL_RTP_ENCRYPTION, 16) == bytes.fromhex(
        "C61E7A93744F39EE10734AFE3FF7A087"
    )
    assert derive(key, salt, LABEL_RTP_SALT, 14) == bytes.fromhex("30CBBC08863D8C85D49DB34A9AE1")
    assert derive(key, salt, LABEL_RTP_AUTH, 20)[:16] == bytes.fromhex(
        "CEBE321F6FF7716B6FD4AB49AF256A15"
    )


# RFC 7714 §16 and §17 test vectors (stated with session keys, so they pin the oracle's
# AEAD packet transform; RFC 3711 B.3 above pins its key derivation).
RFC7714_SALT = bytes.fromhex("517569642070726f2071756f")
RFC7714_RTP = bytes.fromhex(
    "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e2070617274"
    "65732074726573"
)
RFC7714_RTCP = bytes.fromhex(
    "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeef"
    "deadbeefdeadbeef"
)
RFC7714_VECTORS = {
    "gcm128": (
        bytes(range(16)),
        "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7"
        "d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce",
        "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce0"
        "9b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4",
    ),
    "gcm256": (
        bytes(range(32)),
        "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ff"
        "ae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
        "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415"
        "f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4",
    ),
}


@pytest.mark.parametrize("name", sorted(RFC7714_VECTORS))
def test_rfc7714_packet_vectors_pin_the_oracle(name: str) -> None:
    key, srtp, srtcp = RFC7714_VECTORS[name]
    ref = Reference.from_session_keys(name, key, RFC7714_SALT)
    assert ref.protect_rtp(RFC7714_RTP) == bytes.fromhex(srtp)
    assert ref.protect_rtcp(RFC7714_RTCP, 0x5D4) == bytes.fromhex(srtcp)


@pytest.mark.parametrize("profile", PROFILE_PREFERENCE, ids=lambda p: p.name)
def test_protect_matches_independent_rfc_implementation(profile: SrtpProfile) -> None:
    master = key_for(profile)
    ref = Reference(PROFILE_NAMES[profile], master.key, master.salt)
    out = SrtpContext(master, "outbound")
    inbound = SrtpContext(master, "inbound")
    for seq in (1, 2, 3):
        packet = rtp(seq, payload=bytes(range(seq, seq + 50)))
        protected = out.protect_rtp(packet)
        assert protected == ref.protect_rtp(packet)
        assert len(protected) == len(packet) + auth_tag_length(profile)
        assert inbound.unprotect_rtp(ref.protect_rtp(packet)) == packet
    report = rtcp_sr()
    for index in (1, 2):
        protected = out.protect_rtcp(report)
        assert protected == ref.protect_rtcp(report, index)
        assert inbound.unprotect_rtcp(ref.protect_rtcp(report, index)) == report


@pytest.mark.parametrize("profile", PROFILE_PREFERENCE, ids=lambda p: p.name)
def test_rollover_counter_advances_across_sequence_wrap(profile: SrtpProfile) -> None:
    master = key_for(profile)
    ref = Reference(PROFILE_NAMES[profile], master.key, master.salt)
    out = SrtpContext(master, "outbound")
    inbound = SrtpContext(master, "inbound")
    for i in range(65530, 65542):
        packet = rtp(i)
        protected = out.protect_rtp(packet)
        assert protected == ref.protect_rtp(packet, roc=i >> 16)
        assert inbound.unprotect_rtp(protected) == packet


def test_session_from_dtls_keys_pairs_directions() -> None:
    profile = SrtpProfile.SRTP_AEAD_AES_128_GCM
    material = os.urandom(profile.keying_material_length)
    c_local, c_remote = split_keying_material(profile, material, is_client=True)
    s_local, s_remote = split_keying_material(profile, material, is_client=False)
    assert c_local == s_remote and c_remote == s_local
    client = SrtpSession(c_local, c_remote)
    server = SrtpSession.from_dtls(
        SrtpKeys(profile, s_local.key, s_local.salt, s_remote.key, s_remote.salt)
    )
    assert server.unprotect_rtp(client.protect_rtp(rtp(7))) == rtp(7)
    assert client.unprotect_rtp(server.protect_rtp(rtp(8))) == rtp(8)
    assert server.unprotect_rtcp(client.protect_rtcp(rtcp_sr())) == rtcp_sr()


def test_tampered_packet_is_an_authentication_failure_and_counted() -> None:
    session = SrtpSession(
        key_for(SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80),
        key_for(SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80),
    )
    protected = bytearray(session.protect_rtp(rtp(1)))
    protected[20] ^= 1
    with pytest.raises(SrtpAuthenticationError):
        session.unprotect_rtp(bytes(protected))
    assert session.inbound.stats.auth_failures == 1
    # The session continues with good packets.
    assert session.unprotect_rtp(session.protect_rtp(rtp(2))) == rtp(2)


def test_wrong_key_fails_authentication_for_rtcp() -> None:
    profile = SrtpProfile.SRTP_AEAD_AES_128_GCM
    sender = SrtpContext(key_for(profile, 1), "outbound")
    receiver = SrtpContext(key_for(profile, 2), "inbound")
    with pytest.raises(SrtpAuthenticationError):
        receiver.unprotect_rtcp(sender.protect_rtcp(rtcp_sr()))
    assert isinstance(SrtpAuthenticationError("x"), ValueError)


@pytest.mark.parametrize("profile", PROFILE_PREFERENCE, ids=lambda p: p.name)
def test_replayed_and_too_old_packets_are_rejected(profile: SrtpProfile) -> None:
    out = SrtpContext(key_for(profile), "outbound")
    inbound = SrtpContext(key_for(profile), "inbound", replay_window=64)
    first = out.protect_rtp(rtp(1))
    inbound.unprotect_rtp(first)
    with pytest.raises(SrtpReplayError):
        inbound.unprotect_rtp(first)
    later = [out.protect_rtp(rtp(seq)) for seq in range(2, 200)]
    inbound.unprotect_rtp(later[-1])
    with pytest.raises(SrtpReplayError):
        inbound.unprotect_rtp(later[0])  # 197 behind: outside a 64-packet window
    # Reordered within the window is fine.
    inbound.unprotect_rtp(later[-10])
    rtcp = out.protect_rtcp(rtcp_sr())
    inbound.unprotect_rtcp(rtcp)
    with pytest.raises(SrtpReplayError):
        inbound.unprotect_rtcp(rtcp)
    assert inbound.stats.replays == 3


def test_outbound_may_protect_a_retransmission_again() -> None:
    profile = SrtpProfile.SRTP_AEAD_AES_128_GCM
    out = SrtpContext(key_for(profile), "outbound")
    assert out.protect_rtp(rtp(5)) == out.protect_rtp(rtp(5))


@pytest.mark.parametrize(
    "data", [b"", b"\x80", bytes(11), bytes(2000)], ids=["empty", "one", "short", "huge"]
)
def test_malformed_input_raises_srtp_error(data: bytes) -> None:
    ctx = SrtpContext(key_for(SrtpProfile.SRTP_AEAD_AES_128_GCM), "inbound")
    with pytest.raises(SrtpError):
        ctx.unprotect_rtp(data)
    with pytest.raises(SrtpError):
        ctx.unprotect_rtcp(data)


def test_truncated_tag_fails() -> None:
    profile = SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32
    out = SrtpContext(key_for(profile), "outbound")
    inbound = SrtpContext(key_for(profile), "inbound")
    with pytest.raises(SrtpError):
        inbound.unprotect_rtp(out.protect_rtp(rtp(1))[:-2])


def test_direction_is_enforced() -> None:
    ctx = SrtpContext(key_for(SrtpProfile.SRTP_AEAD_AES_128_GCM), "inbound")
    with pytest.raises(RuntimeError):
        ctx.protect_rtp(rtp(1))


def test_key_material_never_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    profile = SrtpProfile.SRTP_AEAD_AES_256_GCM
    master = MasterKey(profile, b"K" * 32, b"S" * 12)
    session = SrtpSession(master, master)
    text = repr(master) + repr(session) + repr(session.inbound) + str(master)
    text += caplog.text
    assert "KKKK" not in text and "SSSS" not in text
    assert master.key.hex() not in text


def test_master_key_length_is_checked() -> None:
    with pytest.raises(ValueError):
        MasterKey(SrtpProfile.SRTP_AEAD_AES_128_GCM, bytes(16), bytes(14))
    with pytest.raises(ValueError):
        split_keying_material(SrtpProfile.SRTP_AEAD_AES_128_GCM, bytes(10), is_client=True)
