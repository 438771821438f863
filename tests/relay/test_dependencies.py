"""ARCHITECTURE.md: ``relay`` depends on ``pywebrtc.stun`` and the frame codec only — never on
DTLS, SRTP, SCTP, ICE or the peer connection — and ``pywebrtc.framing`` on the stdlib only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_FROM_PYWEBRTC = {"pywebrtc.stun", "pywebrtc.framing"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_relay_imports_only_stun_and_framing_from_pywebrtc() -> None:
    for path in sorted((ROOT / "relay").glob("*.py")):
        for name in _imports(path):
            if name == "pywebrtc" or name.startswith("pywebrtc."):
                assert name in ALLOWED_FROM_PYWEBRTC, f"{path.name} imports {name}"


def test_framing_imports_only_the_standard_library() -> None:
    names = _imports(ROOT / "pywebrtc" / "framing.py")
    assert names <= {"__future__", "dataclasses", "socket", "struct"}, names
