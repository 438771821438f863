"""Construction of frozen dataclasses on parse hot paths.

A frozen dataclass ``__init__`` assigns each field through ``object.__setattr__`` looked up by
name at every call, which costs about as much as parsing the packet itself. Parsers build their
objects with :func:`fast_constructor` instead: it writes the slots directly, positionally and in
field order, and runs no ``__post_init__``. The dataclass stays frozen for everyone else.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, TypeVar, cast

T = TypeVar("T")


class Maker(Protocol):
    """``make(cls, *field_values)``: an instance of ``cls`` with its fields set in order."""

    def __call__(self, cls: type[T], /, *values: object) -> T: ...


def fast_constructor(cls: type[object]) -> Maker:
    """Return a :class:`Maker` for the ``slots=True`` dataclass ``cls`` and its subclasses
    that add no fields."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slots dataclass")
    names = [f.name for f in dataclasses.fields(cls)]
    namespace: dict[str, object] = {"_new": object.__new__}
    lines = []
    for i, name in enumerate(names):
        namespace[f"_s{i}"] = cls.__dict__[name].__set__
        lines.append(f"    _s{i}(obj, a{i})")
    args = ", ".join(f"a{i}" for i in range(len(names)))
    header = f"def make(cls, {args}):\n    obj = _new(cls)\n"
    source = header + "\n".join(lines) + "\n    return obj\n"
    exec(source, namespace)
    return cast(Maker, namespace["make"])
