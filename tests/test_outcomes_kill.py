"""SIGKILL at random moments, then the same command again: outcomes.csv ends byte for byte
what an uninterrupted run writes, and mid-run its committed part is already that file's
beginning."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from pathlib import Path

import anyio
import pytest

from examples.make_contacts import write_contacts
from streamer import Sandbox
from tests.cli_runs import cli_env, upload, upload_command
from tests.support import assert_exact


def _committed(out: Path) -> int | None:
    """How many bytes of outcomes.csv.part the journal has committed (None: not yet)."""
    try:
        with sqlite3.connect(f"file:{out / 'journal.sqlite3'}?mode=ro", uri=True,
                             timeout=0.1) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'outcomes_bytes'").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else int(row[0])


def _assert_a_beginning_of(expected: bytes, out: Path) -> int:
    """The committed part of ``out``'s outcomes.csv.part is whole lines that begin
    ``expected``; returns its length (0 when nothing is committed yet)."""
    committed = _committed(out)
    if committed is None:
        return 0
    try:
        written = (out / "outcomes.csv.part").read_bytes()
    except FileNotFoundError:  # the run has finished: the file is in place
        written = (out / "outcomes.csv").read_bytes()
    assert len(written) >= committed
    assert expected.startswith(written[:committed]) and written[:committed].endswith(b"\r\n")
    return committed


async def _kill_and_resume(env: dict[str, str], source: Path, out: Path, flags: tuple[str, ...],
                           after_s: float, expected: bytes) -> int:
    """One run killed after ``after_s`` seconds (checked mid-run as it goes), then the same
    command to the end; returns how many bytes were committed when it was killed."""
    deadline = time.monotonic() + after_s
    async with await anyio.open_process(upload_command(source, out, *flags), env=env) as run:
        while time.monotonic() < deadline and run.returncode is None:
            _assert_a_beginning_of(expected, out)
            await anyio.sleep(0.05)
        if run.returncode is None:
            run.kill()
        await run.wait()
    at_kill = _assert_a_beginning_of(expected, out) if (out / "journal.sqlite3").exists() else 0
    done = await upload(env, source, out, *flags)
    assert done.returncode == 0, done.stderr
    assert (out / "outcomes.csv").read_bytes() == expected
    assert not (out / "outcomes.csv.part").exists()
    return at_kill


@pytest.mark.timeout(600)
async def test_a_dry_run_killed_anywhere_resumes_to_the_same_outcomes_csv(
        tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    write_contacts(source, 20_000, seed=5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
    flags = ("--dry-run", "--batch-size", "500", "--workers", "1")
    started = time.monotonic()
    whole = await upload(env, source, tmp_path / "whole", *flags)
    assert whole.returncode == 0, whole.stderr
    took = time.monotonic() - started
    expected = (tmp_path / "whole" / "outcomes.csv").read_bytes()
    rng = random.Random(18)
    committed = [await _kill_and_resume(env, source, tmp_path / f"kill-{n}", flags,
                                        rng.uniform(0.3, 0.9) * took, expected)
                 for n in range(3)]
    assert any(0 < c < len(expected) for c in committed), committed  # killed mid-file


@pytest.mark.timeout(600)
async def test_an_upload_without_read_back_killed_anywhere_resumes_to_the_same_outcomes_csv(
        sandbox: Sandbox, tmp_path: Path) -> None:
    # Without read-back, uploaded rows come as their jobs complete, out of turn: the ones
    # waiting for an earlier batch at the kill are found in the list by the resumed run.
    source = tmp_path / "contacts.csv"
    write_contacts(source, 20_000, seed=6)
    env = cli_env(sandbox)
    flags = ("--no-verify", "--batch-size", "250", "--concurrency", "4", "--workers", "1")
    started = time.monotonic()
    whole = await upload(env, source, tmp_path / "whole", "--list", "whole", *flags)
    assert whole.returncode == 0, whole.stderr
    took = time.monotonic() - started
    expected = (tmp_path / "whole" / "outcomes.csv").read_bytes()
    rng = random.Random(18)
    for n in range(2):
        out = tmp_path / f"kill-{n}"
        await _kill_and_resume(env, source, out, ("--list", out.name, *flags),
                               rng.uniform(0.3, 0.9) * took, expected)
        await assert_exact(sandbox, out)
