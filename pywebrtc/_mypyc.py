"""The modules compiled with mypyc at install, and the switch back to their Python source.

``pip install -e .`` (setup.py) compiles :data:`MODULES` into C extensions next to their
``.py`` files; Python's import system prefers the extension. They run the same code as their
source, with 15-20 % less CPU per echoed packet (``python -m bench.echopath``); a machine
without a C compiler, or an install with ``PYWEBRTC_NO_MYPYC=1``, gets none and runs the
source. To compile one more module, add it to :data:`MODULES`.

:func:`install` (called first thing by ``pywebrtc/__init__.py``) imports the source instead of
every compiled module when

* ``PYWEBRTC_PURE=1`` is set at run time (tests of the fallback, debugging, profiling by line), or
* in a source tree, any compiled module's ``.py`` is newer than its extension: an edit since
  the last build. The compiled modules call each other's C code directly, so they go back to
  the source all together, with a warning to rebuild (``pip install -e .``).

This module is not compiled itself and imports nothing from the package.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TypeVar

# What setup.py compiles, as module names (one shared library holds them all: SHARED_LIBRARY).
# Keep to modules whose code mypyc accepts (docs/architecture.md lists what it forbids).
MODULES: tuple[str, ...] = (
    "pywebrtc.timer",
    "pywebrtc.shell",
    "pywebrtc.session",
    "pywebrtc.mediaplane",
    "pywebrtc.srtp.context",
    "pywebrtc.media.pipeline",
    "pywebrtc.rtp.sender",
    "pywebrtc.rtp.receiver",
    "pywebrtc.rtp.interceptor",
    "pywebrtc.rtp.reports",
    "pywebrtc.media.dtmf",
    "pywebrtc.demux",
    "pywebrtc.ice.udpmux",
    "pywebrtc.ice.framed",
    "signaling.udp",
    # the setup path: DTLS, ICE, JSEP, SCTP, SDP syntax, STUN
    "pywebrtc.dtls.ack",
    "pywebrtc.dtls.alert",
    "pywebrtc.dtls.cipher",
    "pywebrtc.dtls.client",
    "pywebrtc.dtls.codec",
    "pywebrtc.dtls.connection",
    "pywebrtc.dtls.cookie",
    "pywebrtc.dtls.dtls13",
    "pywebrtc.dtls.events",
    "pywebrtc.dtls.extensions",
    "pywebrtc.dtls.flight",
    "pywebrtc.dtls.handshake",
    "pywebrtc.dtls.keyexchange",
    "pywebrtc.dtls.keyschedule",
    "pywebrtc.dtls.messages13",
    "pywebrtc.dtls.prf",
    "pywebrtc.dtls.reassembly",
    "pywebrtc.dtls.record",
    "pywebrtc.dtls.record13",
    "pywebrtc.dtls.replay",
    "pywebrtc.dtls.server",
    "pywebrtc.dtls.state",
    "pywebrtc.ice.agent",
    "pywebrtc.ice.candidate",
    "pywebrtc.ice.checklist",
    "pywebrtc.ice.config",
    "pywebrtc.ice.credentials",
    "pywebrtc.ice.events",
    "pywebrtc.ice.pair",
    "pywebrtc.jsep.audio",
    "pywebrtc.jsep.candidates",
    "pywebrtc.jsep.negotiation",
    "pywebrtc.jsep.operations",
    "pywebrtc.jsep.signaling",
    "pywebrtc.jsep.video",
    "pywebrtc.sctp.association",
    "pywebrtc.sctp.crc32c",
    "pywebrtc.sctp.dcep",
    "pywebrtc.sctp.packet",
    "pywebrtc.sctp.reassembly",
    "pywebrtc.sdp._syntax",
    "pywebrtc.sdp.fields",
    "pywebrtc.stun.binding",
    "pywebrtc.stun.channeldata",
    "pywebrtc.stun.constants",
    "pywebrtc.stun.credentials",
    "pywebrtc.stun.integrity",
)
SHARED_LIBRARY = "pywebrtc._native__mypyc"  # mypycify(group_name="pywebrtc._native")

_T = TypeVar("_T")

try:  # mypyc reads the decorator at build time; compiled classes never call it
    from mypy_extensions import mypyc_attr as mypyc_attr
except ImportError:  # mypy is a build and test requirement, not a run-time one

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[_T], _T]:
        return lambda x: x


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_of(module: str) -> str:
    """The ``.py`` file of one of :data:`MODULES`."""
    return os.path.join(_root(), *module.split(".")) + ".py"


def extension_of(module: str) -> str | None:
    """The compiled extension next to ``module``'s source, or None if the build made none."""
    base = os.path.join(_root(), *module.split("."))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if os.path.exists(base + suffix):
            return base + suffix
    return None


def _built() -> bool:
    """Whether the shared library of the compiled modules exists (else their extensions fail)."""
    base = os.path.join(_root(), *SHARED_LIBRARY.split("."))
    return any(os.path.exists(base + s) for s in importlib.machinery.EXTENSION_SUFFIXES)


def _stale() -> list[str]:
    """Compiled modules whose source was edited after the build (checked in a source tree)."""
    if not os.path.exists(os.path.join(_root(), "setup.py")):
        return []  # installed from a wheel: nobody edits the source next to it
    stale = []
    for module in MODULES:
        extension = extension_of(module)
        if extension is not None and os.stat(source_of(module)).st_mtime > os.stat(
            extension
        ).st_mtime:
            stale.append(module)
    return stale


class _SourceFinder:
    """A meta-path finder that imports :data:`MODULES` from their ``.py`` files."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in _COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, source_of(fullname))


_COMPILED = frozenset(MODULES)
pure = False  # set by install(): the compiled modules are imported from their source


def install() -> None:
    """Import the source of the compiled modules if asked to or if it is stale (module doc)."""
    global pure
    if pure:
        return
    stale = _stale()
    if stale:
        warnings.warn(
            f"{', '.join(stale)} changed since mypyc compiled them: running every compiled "
            "module from its source; `pip install -e .` rebuilds them",
            stacklevel=2,
        )
    if not _built() or os.environ.get("PYWEBRTC_PURE") == "1" or stale:
        loaded = [module for module in _COMPILED.intersection(sys.modules) if compiled(module)]
        if loaded:
            raise RuntimeError(f"compiled modules imported before pywebrtc: {sorted(loaded)}")
        sys.meta_path.insert(0, _SourceFinder())
        pure = True


def compiled(module: str) -> bool:
    """Whether ``module`` (imported) runs compiled code."""
    file = getattr(sys.modules[module], "__file__", None) or ""
    return not file.endswith(".py")



def describe() -> str:
    """What the build made, in a line (the Makefile prints it after installing)."""
    built = [module for module in MODULES if _built() and extension_of(module) is not None]
    stale = _stale()
    line = f"mypyc: {len(built)} of {len(MODULES)} modules compiled"
    if stale:
        line += f"; edited since, all run from source: {', '.join(stale)}"
    if pure and not stale:
        line += "; running from source"
    return line
