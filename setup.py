"""Builds streamer's compiled core: the per-row modules listed in ``streamer/_core.py``,
compiled by mypyc from the same typed sources that run as the pure-Python twin.

Without a C compiler (or with ``STREAMER_PURE=1``, or when compiling fails) the package
installs without them, with one warning line: the twin gives the same answers, slower.
Everything else about the package is in ``pyproject.toml``.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
CORE = runpy.run_path(str(ROOT / "streamer" / "_core.py"))
#: How mypyc type-checks the modules in pip's isolated build environment, where
#: streamer's dependencies are not installed: their types are unknown there (``Any``,
#: checked at run time like any Python object), and only the compiled modules report.
MYPYC_OPTIONS = ["--ignore-missing-imports", "--follow-imports=silent", "--no-warn-return-any"]


def _warn(why: str) -> None:
    print(f"streamer: warning: {why}; installing the pure-Python core (same answers, "
          "slower)", file=sys.stderr)


def _compiler() -> str | None:
    """The C compiler setuptools would call, if it is on PATH."""
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    compiler: Any = new_compiler()
    customize_compiler(compiler)
    command = getattr(compiler, "compiler_so", None) or [os.environ.get("CC", "cc")]
    return shutil.which(command[0])


def _extensions() -> list[Any]:
    """The compiled core's extensions, or none (with the warning saying why)."""
    if os.environ.get(CORE["PURE_ENV"]) == "1":
        return []
    if _compiler() is None:
        _warn("no C compiler found")
        return []
    from mypyc.build import mypycify

    sources = [str(CORE["source_path"](module, Path("."))) for module in CORE["COMPILED_MODULES"]]
    try:
        extensions: list[Any] = mypycify([*MYPYC_OPTIONS, *sources], opt_level="3",
                                         group_name="streamer_core")
    except (Exception, SystemExit) as error:  # mypyc refused a module: exits with its error
        _warn(f"mypyc could not compile the core ({error})")
        return []
    return extensions


#: Stands for the extensions until ``build_ext`` runs: setup.py is run for every step of
#: an install (metadata, requirements, the build), and only the build should spend the
#: half minute mypyc takes.
_LATER = Extension("streamer_core__later", sources=[])


class BuildCore(build_ext):
    """Builds the extensions, then writes the sources' hashes beside them (how a stale
    build is told at run time); a failed compile leaves the pure core, with a warning."""

    def finalize_options(self) -> None:
        if self.distribution.ext_modules == [_LATER]:
            self.distribution.ext_modules = _extensions()
        super().finalize_options()

    def run(self) -> None:
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as error:  # any compile failure: the pure core still installs
            _warn(f"the compiled core did not build ({error})")
            return
        manifest = Path(self.get_ext_fullpath("streamer._core")).parent / CORE["BUILD_MANIFEST"]
        manifest.write_text(json.dumps(CORE["source_hashes"](ROOT), indent=1), encoding="utf-8")


os.chdir(ROOT)  # mypycify takes paths relative to the project
setup(ext_modules=[_LATER], cmdclass={"build_ext": BuildCore})
