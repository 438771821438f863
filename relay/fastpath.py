"""Whether the relay's C forwarding loops (relay._fastloop, built from relay/_fastloop.c by
setup.py at install time) are here, and the module if so.

The extension is optional: where it could not be built, ``--io auto`` runs the pure-Python
loops of relay.hotloop, and ``--io c`` fails at start with :class:`FastPathMissing`.
"""

from __future__ import annotations

try:
    from relay import _fastloop as _native
except ImportError:  # not built: no compiler or headers at install time, or not Linux
    _native = None  # type: ignore[assignment]


class FastPathMissing(ValueError):
    """``--io c`` asked for, but relay._fastloop was not built."""


def available() -> bool:
    """Whether relay._fastloop was built and imports."""
    return _native is not None


def require() -> None:
    """Raise :class:`FastPathMissing` unless relay._fastloop was built."""
    if _native is None:
        raise FastPathMissing(
            "relay._fastloop is not built (reinstall with a C compiler and Python headers, "
            "e.g. `pip install -e .`); use --io thread"
        )
