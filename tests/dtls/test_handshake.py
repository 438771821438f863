"""Ours ↔ ours handshakes on a fake clock: suites, groups, certificates, SRTP, exporter."""

from __future__ import annotations

import pytest

from pywebrtc.dtls import (
    SRTP_EXPORTER_LABEL,
    CipherSuiteId,
    ConnectionClosed,
    FingerprintMismatch,
    NamedGroup,
    SrtpProfile,
    State,
)
from pywebrtc.dtls.certificate import Certificate, Fingerprint, load_peer_key
from pywebrtc.dtls.errors import BadCertificate
from tests.dtls.peers import load_certificate, pair


def test_handshake_completes_with_defaults_and_agrees_on_keys() -> None:
    net = pair()
    net.handshake()
    assert net.client.completed is not None and net.server.completed is not None
    done = net.client.completed
    assert done.cipher_suite == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert done.srtp_profile is SrtpProfile.SRTP_AEAD_AES_128_GCM
    assert done.extended_master_secret
    c, s = net.client.conn, net.server.conn
    assert c.export_keying_material(SRTP_EXPORTER_LABEL, 60) == s.export_keying_material(
        SRTP_EXPORTER_LABEL, 60
    )
    assert c.srtp_keys().local_key == s.srtp_keys().remote_key
    assert c.srtp_keys().remote_salt == s.srtp_keys().local_salt
    assert net.client.completed.peer_fingerprint == load_certificate().fingerprint()


def test_application_data_flows_both_ways_then_close_notify() -> None:
    net = pair()
    net.handshake()
    net.client.conn.send(b"ping")
    net.server.conn.send(b"pong")
    net.run()
    assert net.server.data == [b"ping"]
    assert net.client.data == [b"pong"]
    net.client.conn.close()
    net.run()
    assert net.client.closed == ConnectionClosed(None)
    assert net.server.closed == ConnectionClosed(None)
    assert net.server.conn.state is State.CLOSED


@pytest.mark.parametrize("suite", list(CipherSuiteId))
def test_every_suite(suite: CipherSuiteId) -> None:
    cert = "rsa-2048" if "RSA" in suite.name else "ecdsa-p256"
    net = pair(cert, cert, client_config={"cipher_suites": (suite,)})
    net.handshake()
    assert net.server.completed is not None
    assert net.server.completed.cipher_suite == suite.name
    net.client.conn.send(b"x" * 1000)
    net.run()
    assert net.server.data == [b"x" * 1000]


@pytest.mark.parametrize("group", [NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1])
def test_every_group(group: NamedGroup) -> None:
    net = pair(client_config={"groups": (group,)})
    net.handshake()
    assert net.client.conn.is_connected
    assert net.client.conn._neg.group == group


def test_mixed_certificate_types() -> None:
    net = pair("rsa-2048", "ecdsa-p384")
    net.handshake()
    assert net.client.completed is not None
    assert net.client.completed.cipher_suite.startswith("TLS_ECDHE_ECDSA")
    assert net.server.completed is not None


@pytest.mark.parametrize("profile", list(SrtpProfile))
def test_every_srtp_profile_and_exporter_length(profile: SrtpProfile) -> None:
    net = pair(client_config={"srtp_profiles": (profile,)})
    net.handshake()
    assert net.server.conn.srtp_profile is profile
    keys = net.server.conn.srtp_keys()
    assert len(keys.local_key) + len(keys.local_salt) == profile.keying_material_length // 2
    assert {
        SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_80: 60,
        SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32: 60,
        SrtpProfile.SRTP_AEAD_AES_128_GCM: 56,
        SrtpProfile.SRTP_AEAD_AES_256_GCM: 88,
    }[profile] == profile.keying_material_length


def test_no_srtp_in_common_still_connects_without_profile() -> None:
    net = pair(
        client_config={"srtp_profiles": (SrtpProfile.SRTP_AES128_CM_HMAC_SHA1_32,)},
        server_config={"srtp_profiles": (SrtpProfile.SRTP_AEAD_AES_128_GCM,)},
    )
    net.handshake()
    assert net.client.conn.is_connected and net.client.conn.srtp_profile is None


@pytest.mark.parametrize("algorithm", ["sha-256", "sha-384", "sha-512"])
def test_fingerprint_algorithms(algorithm: str) -> None:
    cert = load_certificate()
    fp = cert.fingerprint(algorithm)
    assert Fingerprint.parse(str(fp)) == fp
    assert fp.matches(cert.der)
    net = pair(client_config={"remote_fingerprints": (fp,)})
    net.handshake()
    assert net.client.conn.is_connected


def test_wrong_fingerprint_is_a_fatal_alert_on_both_sides() -> None:
    wrong = load_certificate("rsa-2048").fingerprint()
    net = pair(client_config={"remote_fingerprints": (wrong,)})
    net.client.conn.connect(0.0)
    net.run(until=5.0)
    assert net.client.closed is not None
    assert isinstance(net.client.closed.error, FingerprintMismatch)
    assert net.server.closed is not None  # got bad_certificate
    assert net.server.closed.error is not None
    assert net.server.closed.error.alert_description == 42
    assert not net.server.conn.is_connected


def test_server_rejects_client_with_wrong_fingerprint() -> None:
    wrong = load_certificate("ecdsa-p384").fingerprint()
    net = pair(server_config={"remote_fingerprints": (wrong,)})
    net.client.conn.connect(0.0)
    net.run(until=5.0)
    assert net.server.closed is not None
    assert isinstance(net.server.closed.error, FingerprintMismatch)
    assert net.client.closed is not None


def test_pem_round_trip(tmp_path: object) -> None:
    from pywebrtc.dtls import Certificate

    for kind in ("ecdsa", "rsa"):
        cert = Certificate.generate(kind)
        again = Certificate.from_pem(cert.certificate_pem(), cert.private_key_pem())
        assert again.der == cert.der
        assert again.key_type == kind


def test_server_without_certificate_request() -> None:
    net = pair(server_config={"require_client_certificate": False, "remote_fingerprints": ()})
    net.handshake()
    assert net.both_connected()
    assert net.server.completed is not None
    assert net.server.completed.peer_fingerprint is None
    assert net.client.completed is not None
    assert net.client.completed.peer_fingerprint is not None


def test_a_certificate_of_an_unknown_x509_version_is_a_bad_certificate() -> None:
    # cryptography raises InvalidVersion, not a ValueError, for a version other than v1/v3
    # (a corrupted handshake datagram once got through as that).
    der = Certificate.generate().der
    v3 = b"\xa0\x03\x02\x01\x02"
    assert der.count(v3) == 1
    with pytest.raises(BadCertificate):
        load_peer_key(der.replace(v3, b"\xa0\x03\x02\x01\x03"))
