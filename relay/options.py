"""Command-line flags that default to environment variables, for the two services' CLIs.

``pywebrtc-relay`` and ``pywebrtc-signaling`` give every flag an environment variable
``<PREFIX><NAME>`` (flags win). :class:`EnvArgumentParser.flag` declares both at once: the
variable is read as the flag's default (argparse converts a string default with the flag's
``type``, so a bad value is a usage error naming the flag) and named at the end of its help.
An empty variable counts as unset. List flags (``action="append"``) read their variable,
comma- or space-separated, through :func:`env_list`: repeated flags replace
the environment's list rather than add to it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def env_value(prefix: str, name: str, default: str | None = None) -> str | None:
    """``<prefix><name>`` from the environment, or ``default`` when unset or empty."""
    return os.environ.get(prefix + name) or default


def env_list(prefix: str, name: str) -> list[str]:
    """``<prefix><name>`` split at commas and spaces (empty when unset)."""
    return (env_value(prefix, name) or "").replace(",", " ").split()


class EnvArgumentParser(argparse.ArgumentParser):
    def __init__(self, env_prefix: str, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(**kwargs)
        self.env_prefix = env_prefix

    def flag(self, *names: str, env: str, help: str, default: Any = None, **kwargs: Any) -> None:
        """``add_argument`` with ``default`` taken from ``<PREFIX><env>`` when it is set.

        A ``store_true`` flag is on when the variable is ``1``; an ``append`` flag takes its
        default from nowhere (read the variable with :func:`env_list`).
        """
        action = kwargs.get("action")
        variable = self.env_prefix + env
        if action == "store_true":
            default = env_value(self.env_prefix, env) == "1"
            variable += "=1"
        elif action != "append":
            default = env_value(self.env_prefix, env, default)
        self.add_argument(*names, default=default, help=f"{help} [{variable}]", **kwargs)
