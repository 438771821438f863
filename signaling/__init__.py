"""The transceiver service: HTTP signaling (WHIP, OpenAI Realtime-compatible calls, /offer) in
front of ICE-lite sessions on one UDP socket, each handed to an application.

Files: ``cli`` (the ``pywebrtc-signaling`` command), ``http`` (routes, CORS, errors, health and
metrics endpoints), ``whip`` (WHIP and ``/offer``), ``realtime`` (``/v1/realtime/...``),
``auth`` (Bearer tokens, ephemeral keys), ``sessions`` (the session manager), ``udp`` (the one
socket), ``app`` (the application seam), ``echo`` (``--app echo``), ``metrics``.
See docs/signaling.md.
"""

import pywebrtc  # noqa: F401  (first: it may send signaling.udp back to its source)
