"""Which core runs: the compiled one, or its pure-Python twin.

The per-row modules below are compiled with mypyc when streamer is installed with a C
compiler at hand (``setup.py``). The compiled modules are built from these very sources,
so the twin is not a second implementation that could drift: it is the same code, run by
the interpreter. It runs

- when ``STREAMER_PURE=1`` is set (a choice: no warning);
- when no compiled module was built (no compiler at install): :func:`warning` says so;
- when the compiled modules are older than their sources (a checkout edited or updated
  since ``pip install -e .``): the sources' hashes, written beside the modules when they
  were built, no longer match, and :func:`warning` says to rebuild. Running stale code
  would answer by the old rules.

This module imports only the standard library: ``setup.py`` reads it before streamer's
dependencies are installed.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

#: The modules mypyc compiles: the per-row work (normalising, the campaign rules, dedup,
#: each row's upload line).
COMPILED_MODULES: tuple[str, ...] = (
    "streamer.cleaning._emails",
    "streamer.cleaning._fields",
    "streamer.cleaning._normalize",
    "streamer.cleaning._phone_metadata",
    "streamer.cleaning._phones",
    "streamer.cleaning._rules",
    "streamer.cleaning.dedup._aliases",
    "streamer.cleaning.dedup._index",
    "streamer.cleaning.dedup._keys",
    "streamer.cleaning.dedup._rules",
    "streamer.cleaning.dedup._stage",
    "streamer.cleaning.dedup._table",
    "streamer.countries",
    "streamer.csv_text",
    "streamer.upload_format",
)
#: Set to ``1``: run the pure-Python twin even where the compiled core is built.
PURE_ENV = "STREAMER_PURE"
#: Written by ``setup.py`` beside the compiled modules: each source's SHA-256 when built.
BUILD_MANIFEST = "_core_build.json"

_PACKAGE_DIR = Path(__file__).resolve().parent


class Core(NamedTuple):
    """The core this process runs, and why."""

    compiled: bool
    why: str  # "built", "STREAMER_PURE=1", "not built", "stale"

    def describe(self) -> str:
        return "compiled core (mypyc)" if self.compiled else f"pure-Python core ({self.why})"


def source_path(module: str, root: Path) -> Path:
    """Where ``module``'s source is, under the directory holding the ``streamer`` package."""
    return root.joinpath(*module.split(".")).with_suffix(".py")


def source_hashes(root: Path) -> dict[str, str]:
    """Each compiled module's source SHA-256, read under ``root``."""
    return {module: hashlib.sha256(source_path(module, root).read_bytes()).hexdigest()
            for module in COMPILED_MODULES}


def _built(module: str) -> bool:
    stem = source_path(module, _PACKAGE_DIR.parent).with_suffix("")
    return any(Path(f"{stem}{suffix}").is_file()
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _decide() -> Core:
    if os.environ.get(PURE_ENV) == "1":
        return Core(False, f"{PURE_ENV}=1")
    if not all(_built(module) for module in COMPILED_MODULES):
        return Core(False, "not built")
    try:
        built_from = json.loads((_PACKAGE_DIR / BUILD_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # written last: a build that failed part way
        return Core(False, "not built")
    if built_from != source_hashes(_PACKAGE_DIR.parent):
        return Core(False, "stale")
    return Core(True, "built")


class _PureFinder:
    """Finds the compiled modules' ``.py`` sources, ahead of the extensions beside them
    (which the import system would otherwise prefer)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        leaf = fullname.rpartition(".")[2] + ".py"
        for entry in path or ():
            candidate = os.path.join(entry, leaf)
            if os.path.isfile(candidate):
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


def _choose() -> Core:
    core = _decide()
    if not core.compiled and not any(isinstance(finder, _PureFinder)
                                     for finder in sys.meta_path):
        sys.meta_path.insert(0, _PureFinder())
    return core


#: Decided once, when streamer is first imported (before any compiled module is).
CORE = _choose()


def warning() -> str | None:
    """One line for the operator when the pure twin runs though nobody asked for it (set
    ``STREAMER_PURE=1`` since this process began: asked for now)."""
    if os.environ.get(PURE_ENV) == "1":
        return None
    if CORE.why == "not built":
        return ("streamer: warning: the compiled core is not built (no C compiler when "
                "streamer was installed); running its pure-Python twin, same answers, "
                f"slower. Install gcc and re-run pip install, or set {PURE_ENV}=1 to "
                "silence this.")
    if CORE.why == "stale":
        return ("streamer: warning: the compiled core is older than its sources; running "
                "the pure-Python twin. Re-run `pip install -e .` to rebuild it.")
    return None
