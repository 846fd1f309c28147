"""Real local-disk failures for the tests: a small tmpfs that fills up, or turns read-only.

Mounting takes root (CI runs as root); elsewhere the tests that need it are skipped.
Only the mount a test made is ever remounted or unmounted.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class SmallDisk:
    """A tmpfs mounted at ``path``, ``size`` bytes big until :meth:`remount` says otherwise."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def remount(self, *options: str) -> None:
        """``remount("size=64m")``, ``remount("ro")``, ``remount("rw")``."""
        subprocess.run(["mount", "-o", ",".join(("remount", *options)), str(self.path)],
                       check=True, capture_output=True)


@contextmanager
def small_disk(where: Path, size: str = "256k") -> Iterator[SmallDisk]:
    """A tmpfs of ``size`` at ``where`` (made), unmounted on the way out."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs takes root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(where)
    finally:
        subprocess.run(["umount", str(where)], check=True, capture_output=True)
