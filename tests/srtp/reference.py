"""An independent SRTP/SRTCP implementation written from the RFCs for interop tests.

RFC 3711 §4.3 key derivation (AES-CM PRF), §4.1.1 AES counter mode, §4.2 HMAC-SHA1; RFC 7714
§8-§9 AES-GCM. Built on `cryptography` only, slow and unhardened: a test oracle, nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LABEL_RTP_ENCRYPTION = 0
LABEL_RTP_AUTH = 1
LABEL_RTP_SALT = 2
LABEL_RTCP_ENCRYPTION = 3
LABEL_RTCP_AUTH = 4
LABEL_RTCP_SALT = 5


def _ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def derive(master_key: bytes, master_salt: bytes, label: int, length: int, index: int = 0) -> bytes:
    """RFC 3711 §4.3.1 with key_derivation_rate 0: x = (label || 0^48) XOR master salt."""
    salt = master_salt.ljust(14, b"\0")
    x = bytearray(salt)
    x[7] ^= label
    return _ctr(master_key, bytes(x) + b"\0\0", bytes(length))


class Reference:
    def __init__(self, profile: str, master_key: bytes, master_salt: bytes) -> None:
        self.gcm = profile.startswith("gcm")
        k = len(master_key)
        salt_len = 12 if self.gcm else 14
        self.rtp_key = derive(master_key, master_salt, LABEL_RTP_ENCRYPTION, k)
        self.rtp_salt = derive(master_key, master_salt, LABEL_RTP_SALT, salt_len)
        self.rtp_auth = derive(master_key, master_salt, LABEL_RTP_AUTH, 20)
        self.rtcp_key = derive(master_key, master_salt, LABEL_RTCP_ENCRYPTION, k)
        self.rtcp_salt = derive(master_key, master_salt, LABEL_RTCP_SALT, salt_len)
        self.rtcp_auth = derive(master_key, master_salt, LABEL_RTCP_AUTH, 20)
        self.tag = {"cm80": 10, "cm32": 4}.get(profile, 16)

    @classmethod
    def from_session_keys(cls, profile: str, key: bytes, salt: bytes) -> Reference:
        """Below the key derivation: RFC 7714's vectors give session keys and salts."""
        ref = cls.__new__(cls)
        ref.gcm = profile.startswith("gcm")
        ref.rtp_key = ref.rtcp_key = key
        ref.rtp_salt = ref.rtcp_salt = salt
        ref.rtp_auth = ref.rtcp_auth = b""
        ref.tag = 16
        return ref

    @staticmethod
    def _header_length(packet: bytes) -> int:
        cc = packet[0] & 0x0F
        n = 12 + 4 * cc
        if packet[0] & 0x10:
            (words,) = struct.unpack_from("!H", packet, n + 2)
            n += 4 + 4 * words
        return n

    def protect_rtp(self, packet: bytes, roc: int = 0) -> bytes:
        n = self._header_length(packet)
        header, payload = packet[:n], packet[n:]
        seq, ssrc = struct.unpack_from("!H4xI", packet, 2)
        if self.gcm:
            iv = bytes(
                a ^ b
                for a, b in zip(struct.pack("!xxIIH", ssrc, roc, seq), self.rtp_salt, strict=True)
            )
            return header + AESGCM(self.rtp_key).encrypt(iv, payload, header)
        index = (roc << 16) | seq
        iv_int = (int.from_bytes(self.rtp_salt, "big") << 16) ^ (ssrc << 64) ^ (index << 16)
        body = header + _ctr(self.rtp_key, iv_int.to_bytes(16, "big"), payload)
        mac = hmac.new(self.rtp_auth, body + struct.pack("!I", roc), hashlib.sha1).digest()
        return body + mac[: self.tag]

    def protect_rtcp(self, packet: bytes, index: int) -> bytes:
        (ssrc,) = struct.unpack_from("!I", packet, 4)
        e_index = struct.pack("!I", 0x80000000 | index)
        if self.gcm:
            iv = bytes(
                a ^ b
                for a, b in zip(struct.pack("!xxIxxI", ssrc, index), self.rtcp_salt, strict=True)
            )
            aad = packet[:8] + e_index
            return packet[:8] + AESGCM(self.rtcp_key).encrypt(iv, packet[8:], aad) + e_index
        iv_int = (int.from_bytes(self.rtcp_salt, "big") << 16) ^ (ssrc << 64) ^ (index << 16)
        body = packet[:8] + _ctr(self.rtcp_key, iv_int.to_bytes(16, "big"), packet[8:]) + e_index
        return body + hmac.new(self.rtcp_auth, body, hashlib.sha1).digest()[:10]
