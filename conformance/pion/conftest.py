"""Builds the Go peer once per session (cached in build/pion by source mtime)."""

from __future__ import annotations

import pytest

from conformance.pion.driver import build


@pytest.fixture(scope="session", autouse=True)
def pion() -> None:
    """Fails every test here, not skips, when Go or Pion is missing."""
    build()
