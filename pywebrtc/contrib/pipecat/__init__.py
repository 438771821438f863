"""pipecat's SmallWebRTC transport on pywebrtc, under pipecat's module names.

An app written for pipecat's ``pipecat.transports.smallwebrtc`` switches by importing the same
names from here::

    from pywebrtc.contrib.pipecat.connection import SmallWebRTCConnection
    from pywebrtc.contrib.pipecat.request_handler import SmallWebRTCRequestHandler
    from pywebrtc.contrib.pipecat.transport import SmallWebRTCTransport

It needs ``pipecat-ai`` (the ``pipecat`` extra: ``pip install pywebrtc[pipecat]``), not
aiortc. Nothing else in pywebrtc imports pipecat: only importing these modules loads it.
"""
