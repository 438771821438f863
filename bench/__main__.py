"""``python -m bench NAME [--no-write]``: run a benchmark scenario (``all`` runs every one).

A scenario is any module ``bench/NAME.py`` that defines ``scenario() -> bench.harness.Scenario``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

from bench.harness import Scenario, run

_NOT_SCENARIOS = {"harness", "__main__"}


def available() -> list[str]:
    here = str(Path(__file__).resolve().parent)
    names = [m.name for m in pkgutil.iter_modules([here]) if m.name not in _NOT_SCENARIOS]
    return sorted(n for n in names if hasattr(importlib.import_module(f"bench.{n}"), "scenario"))


def _load(name: str) -> Callable[[], Scenario]:
    loaded: Callable[[], Scenario] = importlib.import_module(f"bench.{name}").scenario
    return loaded


def main() -> None:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=[*names, "all"])
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args()
    for name in names if args.name == "all" else [args.name]:
        run(_load(name)(), write=not args.no_write)


if __name__ == "__main__":
    main()
