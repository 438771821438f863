"""RFC 5769 test vectors (§2.1–2.4), as printed in the RFC (padding of SOFTWARE and USERNAME in
§2.1–2.3 is 0x20 on purpose: the RFC says padding bytes may be anything)."""

from __future__ import annotations


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


TRANSACTION_ID = _hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae")
SHORT_TERM_PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt"

# §2.1 Sample Request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY,
# FINGERPRINT.
SAMPLE_REQUEST = _hex(
    """
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf
    """
)

# §2.2 Sample IPv4 Response: SOFTWARE, XOR-MAPPED-ADDRESS 192.0.2.1:32853, MI, FINGERPRINT.
SAMPLE_IPV4_RESPONSE = _hex(
    """
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96
    """
)

# §2.3 Sample IPv6 Response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
SAMPLE_IPV6_RESPONSE = _hex(
    """
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c
    """
)

# §2.4 Sample Request with Long-Term Authentication: USERNAME "マトリックス", NONCE, REALM
# "example.org", MESSAGE-INTEGRITY; password "TheMatrIX" (after SASLprep). No FINGERPRINT.
LONG_TERM_TRANSACTION_ID = _hex("78 ad 34 33 c6 ad 72 c0 29 da 41 2e")
LONG_TERM_USERNAME = "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"
LONG_TERM_NONCE = "f//499k954d6OL34oL9FSTvy64sA"
LONG_TERM_REALM = "example.org"
LONG_TERM_PASSWORD = "TheMatrIX"
LONG_TERM_REQUEST = _hex(
    """
    00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
    00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
    00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
    00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
    00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
    """
)

# RFC 8489 Appendix B.1, as printed: USERHASH, NONCE, REALM, MESSAGE-INTEGRITY-SHA256 for the
# long-term credentials above with SHA-256. The printed header length (0x9c = 156) does not
# match the 136 bytes of attributes that follow (RFC errata 6268 reports the appendix as
# wrong), so it is not a well-formed message; the HMAC was computed with length 156.
RFC8489_B1_NONCE = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"
RFC8489_B1_USERHASH = _hex(
    """
    4a 3c f3 8f ef 69 92 bd a9 52 c6 78 04 17 da 0f
    24 81 94 15 56 9e 60 b2 05 c4 6e 41 40 7f 17 04
    """
)
RFC8489_B1_REQUEST = _hex(
    """
    00 01 00 9c 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
    00 1e 00 20 4a 3c f3 8f ef 69 92 bd a9 52 c6 78 04 17 da 0f
                24 81 94 15 56 9e 60 b2 05 c4 6e 41 40 7f 17 04
    00 15 00 29 6f 62 4d 61 74 4a 6f 73 32 41 41 41 43 66 2f 2f
                34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39
                46 53 54 76 79 36 34 73 41 00 00 00
    00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
    00 1c 00 20 e4 68 6c 8f 0e de b5 90 13 e0 70 90 01 0a 93 ef
                cc bc cc 54 4c 0a 45 d9 f8 30 aa 6d 6f 73 5a 01
    """
)

# Browser connectivity checks captured off the wire, as published in other projects' test
# suites (packet bytes only; the ICE passwords were not published, so only the FINGERPRINT can
# be checked). Both carry Chrome's comprehension-optional GOOG-NETWORK-INFO (0xC057).
# Controlling, nominating: from str0m's STUN tests (crates/is/src/stun.rs).
CHROME_CONTROLLING_CHECK = _hex(
    """
    00 01 00 50 21 12 a4 42 6a 75 63 31 35 75 78 55 6e 67 47 63
    00 06 00 09 70 39 4b 41 3a 53 51 41 74 00 00 00
    c0 57 00 04 00 01 00 0a
    80 2a 00 08 6e ee c6 e9 7d 18 39 5c
    00 25 00 00
    00 24 00 04 6e 7f 1e ff
    00 08 00 14 5d 04 25 a0 20 7a b1 e0 54 10 22 99 aa f9 83 9c a0 76 c6 d5
    80 28 00 04 36 0e 21 9f
    """
)
# Controlled: from PttOnWebRtc's StunPacket tests.
CHROME_CONTROLLED_CHECK = _hex(
    """
    00 01 00 4c 21 12 a4 42 2f 32 30 76 74 57 75 4a 41 5a 34 39
    00 06 00 09 39 75 36 79 3a 39 51 77 57 00 00 00
    c0 57 00 04 00 02 00 00
    80 29 00 08 81 a3 3b a9 b2 0f 6d 45
    00 24 00 04 6e 7e 1e ff
    00 08 00 14 13 10 89 f8 e8 5b c6 12 85 b4 69 e9 73 14 b2 64 e2 40 98 e3
    80 28 00 04 86 67 63 39
    """
)
