"""JSEP (RFC 8829): the glue between the W3C peer connection and SDP.

* :mod:`pywebrtc.jsep.signaling`: the signaling-state machine (W3C webrtc-pc §4.3.1), as a table;
* :mod:`pywebrtc.jsep.negotiation`: our offers and answers, and the remote description read into
  what the peer connection applies (RFC 8829 §5.2-5.3, RFC 3264);
* :mod:`pywebrtc.jsep.audio`: one audio m-section in offer/answer (RFC 7587, RFC 4733);
* :mod:`pywebrtc.jsep.candidates`: remote candidates from SDP into ICE (RFC 8839 §5.1).

Internal: the public API is :class:`pywebrtc.RTCPeerConnection`.
"""
