"""The mypyc build (setup.py, pywebrtc/_mypyc.py): compiled modules in use iff built, and the
switch back to their source.

On a machine where the build legitimately made no extensions (no compiler, PYWEBRTC_NO_MYPYC=1)
every module is expected to run from source, so these tests hold there too.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from pywebrtc import _mypyc


@pytest.mark.parametrize("module", _mypyc.MODULES)
def test_compiled_module_is_loaded_iff_built(module: str) -> None:
    importlib.import_module(module)
    built = _mypyc.extension_of(module) is not None and _mypyc._built()
    assert _mypyc.compiled(module) == (built and not _mypyc.pure)


def test_the_build_compiled_where_it_could() -> None:
    # A build that fell back silently (mypyc's type check failing in setup.py) where a
    # compiler and mypyc are present: unless the install was asked for pure Python.
    can = shutil.which("cc") is not None and importlib.util.find_spec("mypyc") is not None
    if can and os.environ.get("PYWEBRTC_NO_MYPYC") != "1":
        assert _mypyc._built(), _mypyc.describe()
        assert all(_mypyc.extension_of(module) for module in _mypyc.MODULES), _mypyc.describe()


def test_every_listed_module_has_source() -> None:
    for module in _mypyc.MODULES:
        assert os.path.isfile(_mypyc.source_of(module)), module


def test_pure_switch_imports_every_compiled_module_from_source() -> None:
    code = (
        "import importlib, sys\n"
        "import signaling\n"
        "from pywebrtc import _mypyc\n"
        "for m in _mypyc.MODULES:\n"
        "    importlib.import_module(m)\n"
        "print(sorted(m for m in _mypyc.MODULES if _mypyc.compiled(m)), _mypyc.pure)\n"
    )
    env = {**os.environ, "PYWEBRTC_PURE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["[]", "True"]


def test_an_edited_module_is_stale_in_a_source_tree_only(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "setup.py").write_text("")
    (tmp_path / "pkg").mkdir()
    source = tmp_path / "pkg" / "fast.py"
    extension = tmp_path / "pkg" / ("fast" + importlib.machinery.EXTENSION_SUFFIXES[0])
    source.write_text("")
    extension.write_text("")
    monkeypatch.setattr(_mypyc, "_root", lambda: os.fspath(tmp_path))
    monkeypatch.setattr(_mypyc, "MODULES", ("pkg.fast",))
    os.utime(source, (1000, 1000))
    os.utime(extension, (2000, 2000))
    assert _mypyc._stale() == []
    os.utime(source, (3000, 3000))
    assert _mypyc._stale() == ["pkg.fast"]
    (tmp_path / "setup.py").unlink()
    assert _mypyc._stale() == []  # installed from a wheel: not checked
