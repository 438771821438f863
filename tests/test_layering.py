"""The layering of ARCHITECTURE.md: checked in a fresh interpreter (the relay and the codecs
must not drag in the peer connection, DTLS or SCTP) and in the source (which package may
import which)."""

import ast
import subprocess
import sys
from pathlib import Path

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


PACKAGE = Path(pywebrtc.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    """Every module a source file imports anywhere (top level, functions, TYPE_CHECKING),
    relative imports resolved against its package."""
    package = ".".join(("pywebrtc", *path.relative_to(PACKAGE).parent.parts))
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _imports_of(subpackage: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(PACKAGE)): _imported_modules(path)
        for path in sorted((PACKAGE / subpackage).rglob("*.py"))
    }


@pytest.mark.parametrize("module", ["g711", "opus", "libopus"])
def test_codec_modules_import_the_codec_base_not_the_factory(module: str) -> None:
    imported = _imported_modules(PACKAGE / "media" / f"{module}.py")
    assert "pywebrtc.media.codec" in imported
    assert not any(name.startswith("pywebrtc.media.codecs") for name in imported)


# Candidates flow from SDP to ICE (pywebrtc.jsep.candidates converts), never the reverse; ICE
# gets an IceConfig, never the SettingEngine (which also carries DTLS and Opus settings).
ICE_MUST_NOT_IMPORT = ("pywebrtc.sdp", "pywebrtc.jsep", "pywebrtc.settings")


def test_ice_sources_import_nothing_above_ice() -> None:
    for module, imported in _imports_of("ice").items():
        above = sorted(name for name in imported if name.startswith(ICE_MUST_NOT_IMPORT))
        assert not above, f"pywebrtc/{module} imports {above}"


def test_importing_ice_loads_nothing_above_ice() -> None:
    loaded = _loaded_after("import pywebrtc.ice")
    assert not sorted(name for name in loaded if name.startswith(ICE_MUST_NOT_IMPORT))


def test_the_peer_session_loads_no_shell_and_no_codec() -> None:
    """The sans-IO session knows its media half by a protocol: no asyncio shell, no PyAV."""
    loaded = _loaded_after("import pywebrtc.session")
    for shell in ("pywebrtc.shell", "pywebrtc.peerconnection", "pywebrtc.mediaplane", "av"):
        assert shell not in loaded, f"pywebrtc.session loaded {shell}"


def test_only_the_pipecat_contrib_imports_pipecat() -> None:
    """pipecat is an optional extra: no module outside ``pywebrtc/contrib/pipecat`` imports it,
    and the peer connection and ``pywebrtc.contrib`` load without it."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(PACKAGE / "contrib" / "pipecat"):
            continue
        imported = _imported_modules(path)
        assert not [m for m in imported if m.split(".")[0] == "pipecat"], path
    loaded = _loaded_after("import pywebrtc.contrib.media, pywebrtc.peerconnection")
    assert "pipecat" not in loaded
