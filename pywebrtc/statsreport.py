"""``getStats()``'s report (W3C webrtc-stats) for one peer connection, built from its parts.

Ids are stable within a connection: ``P01`` the connection, ``T01`` its one (bundled)
transport, ``CL``/``CR`` the local and remote certificates, ``IL<n>``/``IR<n>`` candidates,
``CP<n>`` candidate pairs, ``D<id>`` data channels; RTP stream ids come from the media half.
Timestamps are W3C milliseconds since the Unix epoch.
"""

from __future__ import annotations

import base64
import time

from pywebrtc.dtls import Certificate, Fingerprint
from pywebrtc.mediaplane import MediaPlane
from pywebrtc.rtcdatachannel import ChannelManager
from pywebrtc.session import PeerSession
from pywebrtc.stats import (
    RTCCertificateStats,
    RTCDataChannelStats,
    RTCIceCandidatePairStats,
    RTCIceCandidateStats,
    RTCPeerConnectionStats,
    RTCStatsReport,
    RTCTransportStats,
)

_TRANSPORT_ID = "T01"


def build_report(
    certificate: Certificate,
    session: PeerSession | None,
    channel_manager: ChannelManager,
    media: MediaPlane,
) -> RTCStatsReport:
    report = RTCStatsReport()
    ts = time.time() * 1000.0
    channels = list(channel_manager.channels.values())
    report.add(
        RTCPeerConnectionStats(
            ts,
            "peer-connection",
            "P01",
            dataChannelsOpened=channel_manager.channels_opened,
            dataChannelsClosed=channel_manager.channels_closed,
        )
    )
    local_cert = RTCCertificateStats(
        ts, "certificate", "CL", *_cert_fields(certificate.der)
    )
    report.add(local_cert)
    transport = RTCTransportStats(ts, "transport", _TRANSPORT_ID)
    transport.localCertificateId = local_cert.id
    session = session
    transport.dtlsState = session.dtls_state if session is not None else "new"
    dtls = session.dtls if session is not None else None
    if dtls is not None:
        transport.dtlsRole = "client" if dtls.is_client else "server"
        if dtls.version is not None:
            transport.tlsVersion = f"{dtls.version:04X}"  # as browsers show it: FEFD, FEFC
            transport.dtlsCipher = dtls.cipher_suite_name
        peer = dtls.peer_certificate
        if peer is not None:
            remote_cert = RTCCertificateStats(ts, "certificate", "CR", *_cert_fields(peer))
            report.add(remote_cert)
            transport.remoteCertificateId = remote_cert.id
    if session is not None:
        agent = session.agent
        transport.iceRole = "controlling" if agent.controlling else "controlled"
        transport.iceLocalUsernameFragment = agent.local_ufrag
        carried = session.counters
        transport.packetsSent = carried.packets_sent
        transport.packetsReceived = carried.packets_received
        transport.bytesSent = carried.bytes_sent
        transport.bytesReceived = carried.bytes_received
        transport.iceState = str(agent.state)
        ids: dict[int, str] = {}
        for prefix, kind, candidates in (
            ("IL", "local-candidate", agent.local_candidates),
            ("IR", "remote-candidate", agent.remote_candidates),
        ):
            for n, c in enumerate(candidates):
                cid = f"{prefix}{n}"
                ids[id(c)] = cid
                report.add(
                    RTCIceCandidateStats(
                        ts,
                        kind,
                        cid,
                        _TRANSPORT_ID,
                        c.host,
                        c.port,
                        c.transport,
                        str(c.type),
                        c.priority,
                        c.foundation,
                        c.related_address,
                        c.related_port,
                        tcpType=c.tcptype,
                    )
                )
        selected = agent.selected_pair()
        available = media.target_bitrate
        for n, pair in enumerate(agent.checklist):
            pid = f"CP{n}"
            report.add(
                RTCIceCandidatePairStats(
                    ts,
                    "candidate-pair",
                    pid,
                    _TRANSPORT_ID,
                    ids.get(id(pair.local), ""),
                    ids.get(id(pair.remote), ""),
                    pair.state.name.lower().replace("_", "-"),
                    pair.nominated,
                    pair.priority,
                    None if pair.last_received is None else ts,
                    availableOutgoingBitrate=(
                        float(available) if pair is selected and available is not None else None
                    ),
                )
            )
            if pair is selected:
                transport.selectedCandidatePairId = pid
    report.add(transport)
    for channel in channels:
        counters = channel_manager.counters.get(channel)
        report.add(
            RTCDataChannelStats(
                ts,
                "data-channel",
                f"D{channel.id}",
                channel.label,
                channel.protocol,
                channel.id,
                channel.readyState,
                counters.messages_sent if counters else 0,
                counters.bytes_sent if counters else 0,
                counters.messages_received if counters else 0,
                counters.bytes_received if counters else 0,
            )
        )
    media.add_stats(report, ts, _TRANSPORT_ID)
    return report


def _cert_fields(der: bytes) -> tuple[str, str, str]:
    fp = Fingerprint.of(der)
    return fp.value, fp.algorithm, base64.b64encode(der).decode()


__all__ = ["build_report"]
