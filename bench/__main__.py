"""``python -m bench NAME [--no-write]``: run a benchmark scenario (``all`` runs every one)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from bench.harness import Scenario, run

# name -> "module:function" returning the Scenario; imported lazily so one broken peer
# does not stop the others.
SCENARIOS: dict[str, str] = {
    "codecs": "bench.codecs:scenario",
}


def _load(name: str) -> Callable[[], Scenario]:
    module, func = SCENARIOS[name].split(":")
    loaded: Callable[[], Scenario] = getattr(importlib.import_module(module), func)
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=[*SCENARIOS, "all"])
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args()
    for name in SCENARIOS if args.name == "all" else [args.name]:
        run(_load(name)(), write=not args.no_write)


if __name__ == "__main__":
    main()
