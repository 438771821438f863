"""The layering of ARCHITECTURE.md, checked in a fresh interpreter: the relay and the codecs
must not drag in the peer connection, DTLS or SCTP."""

import subprocess
import sys

import pytest

import pywebrtc


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "statement", ["import pywebrtc.stun", "import pywebrtc.framing", "import relay.forwarder"]
)
def test_low_layers_do_not_load_the_peer_connection(statement: str) -> None:
    loaded = _loaded_after(statement)
    for heavy in ("pywebrtc.peerconnection", "pywebrtc.dtls", "pywebrtc.sctp", "pywebrtc.srtp"):
        assert heavy not in loaded, f"{statement} loaded {heavy}"


def test_every_public_name_resolves() -> None:
    for name in pywebrtc.__all__:
        assert getattr(pywebrtc, name) is not None
    assert "RTCPeerConnection" in dir(pywebrtc)
    with pytest.raises(AttributeError):
        _ = pywebrtc.NoSuchThing


def test_the_peer_session_loads_no_shell_and_no_codec() -> None:
    """The sans-IO session knows its media half by a protocol: no asyncio shell, no PyAV."""
    loaded = _loaded_after("import pywebrtc.session")
    for shell in ("pywebrtc.shell", "pywebrtc.peerconnection", "pywebrtc.mediaplane", "av"):
        assert shell not in loaded, f"pywebrtc.session loaded {shell}"
