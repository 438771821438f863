"""Until pywebrtc.stun.read_username lands, relay tests run against a local stand-in."""

from __future__ import annotations

import importlib
import sys
import types

from tests.relay.stunmsg import read_username_stub

try:
    importlib.import_module("pywebrtc.stun").read_username  # noqa: B018
except (ImportError, AttributeError):
    stub = types.ModuleType("pywebrtc.stun")
    stub.read_username = read_username_stub  # type: ignore[attr-defined]
    sys.modules["pywebrtc.stun"] = stub
