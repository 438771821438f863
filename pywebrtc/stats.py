"""``getStats()`` results: W3C webrtc-stats objects in an ``RTCStatsReport`` mapping.

The report maps each stats object's ``id`` to the object, as aiortc's does; attribute names
are the W3C dictionary members (camelCase). Types produced here: ``peer-connection``,
``transport``, ``candidate-pair``, ``local-candidate``, ``remote-candidate``, ``certificate``,
``data-channel``, and for audio and video ``inbound-rtp``, ``outbound-rtp``,
``remote-inbound-rtp``, ``remote-outbound-rtp``, ``codec``, ``media-source`` (webrtc-stats
§7-8). The video members (frames, keyframes, sizes, frame rates, qpSum, PLI/FIR counts) are
None in audio entries. Timestamps are
milliseconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RTCStats:
    timestamp: float
    type: str
    id: str


@dataclass(slots=True)
class RTCPeerConnectionStats(RTCStats):
    dataChannelsOpened: int = 0
    dataChannelsClosed: int = 0


@dataclass(slots=True)
class RTCTransportStats(RTCStats):
    packetsSent: int = 0
    packetsReceived: int = 0
    bytesSent: int = 0
    bytesReceived: int = 0
    iceRole: str = "unknown"
    iceLocalUsernameFragment: str = ""
    iceState: str = "new"
    dtlsState: str = "new"
    dtlsRole: str = "unknown"
    selectedCandidatePairId: str | None = None
    localCertificateId: str | None = None
    remoteCertificateId: str | None = None
    tlsVersion: str | None = None
    dtlsCipher: str | None = None
    srtpCipher: str | None = None


@dataclass(slots=True)
class RTCIceCandidateStats(RTCStats):
    transportId: str = ""
    address: str = ""
    port: int = 0
    protocol: str = "udp"
    candidateType: str = "host"
    priority: int = 0
    foundation: str = ""
    relatedAddress: str | None = None
    relatedPort: int | None = None
    usernameFragment: str | None = None
    tcpType: str | None = None  # "active", "passive" or "so" for TCP candidates (RFC 6544)


@dataclass(slots=True)
class RTCIceCandidatePairStats(RTCStats):
    transportId: str = ""
    localCandidateId: str = ""
    remoteCandidateId: str = ""
    state: str = "frozen"
    nominated: bool = False
    priority: int = 0
    lastPacketReceivedTimestamp: float | None = None
    # the send-side bandwidth estimate (bit/s), on the selected pair once transport-wide
    # feedback runs; what a pass-through sender, whose bitrate we cannot change, should aim at
    availableOutgoingBitrate: float | None = None


@dataclass(slots=True)
class RTCCertificateStats(RTCStats):
    fingerprint: str = ""
    fingerprintAlgorithm: str = ""
    base64Certificate: str = ""


@dataclass(slots=True)
class RTCDataChannelStats(RTCStats):
    label: str = ""
    protocol: str = ""
    dataChannelIdentifier: int | None = None
    state: str = "connecting"
    messagesSent: int = 0
    bytesSent: int = 0
    messagesReceived: int = 0
    bytesReceived: int = 0


@dataclass(slots=True)
class RTCRtpStreamStats(RTCStats):
    ssrc: int = 0
    kind: str = "audio"
    transportId: str = ""
    codecId: str | None = None


@dataclass(slots=True)
class RTCInboundRtpStreamStats(RTCRtpStreamStats):
    mid: str | None = None
    trackIdentifier: str = ""
    remoteId: str | None = None
    packetsReceived: int = 0
    bytesReceived: int = 0
    packetsLost: int = 0
    jitter: float = 0.0
    packetsDiscarded: int = 0
    concealmentEvents: int = 0
    totalSamplesReceived: int = 0
    nackCount: int = 0
    jitterBufferTargetDelay: float = 0.0
    # video (webrtc-stats §8.3)
    framesReceived: int | None = None
    retransmittedPacketsReceived: int | None = None
    retransmittedBytesReceived: int | None = None
    framesDecoded: int | None = None
    keyFramesDecoded: int | None = None
    framesDropped: int | None = None
    framesPerSecond: float | None = None
    frameWidth: int | None = None
    frameHeight: int | None = None
    qpSum: int | None = None
    pliCount: int | None = None
    firCount: int | None = None


@dataclass(slots=True)
class RTCOutboundRtpStreamStats(RTCRtpStreamStats):
    mid: str | None = None
    mediaSourceId: str | None = None
    remoteId: str | None = None
    packetsSent: int = 0
    bytesSent: int = 0
    retransmittedPacketsSent: int = 0
    targetBitrate: float | None = None  # the encoder's, bit/s
    # video (webrtc-stats §8.4)
    retransmittedBytesSent: int | None = None
    framesEncoded: int | None = None
    keyFramesEncoded: int | None = None
    framesSent: int | None = None
    framesPerSecond: float | None = None
    frameWidth: int | None = None
    frameHeight: int | None = None
    qpSum: int | None = None
    nackCount: int | None = None
    pliCount: int | None = None
    firCount: int | None = None


@dataclass(slots=True)
class RTCRemoteInboundRtpStreamStats(RTCRtpStreamStats):
    localId: str | None = None
    packetsLost: int = 0
    fractionLost: float = 0.0
    jitter: float = 0.0
    roundTripTime: float | None = None


@dataclass(slots=True)
class RTCRemoteOutboundRtpStreamStats(RTCRtpStreamStats):
    localId: str | None = None
    packetsSent: int = 0
    bytesSent: int = 0
    remoteTimestamp: float | None = None


@dataclass(slots=True)
class RTCCodecStats(RTCStats):
    transportId: str = ""
    payloadType: int = 0
    mimeType: str = ""
    clockRate: int = 0
    channels: int = 1
    sdpFmtpLine: str | None = None


@dataclass(slots=True)
class RTCAudioSourceStats(RTCStats):
    kind: str = "audio"
    trackIdentifier: str = ""


class RTCStatsReport(dict[str, RTCStats]):
    """Stats objects by id (a ``dict``, like aiortc's)."""

    def add(self, stats: RTCStats) -> None:
        self[stats.id] = stats

    def of_type(self, type_: str) -> list[RTCStats]:
        return [s for s in self.values() if s.type == type_]
