"""A tenant that throttles hard: reads and job polls are paced and waited out, never
counted out, and a read-back killed halfway goes on where it stopped."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import pytest

import streamer
from streamer import Sandbox, SandboxConfig
from tests.cli_runs import cli_env
from tests.conftest import WriteCsv
from tests.support import assert_exact, settings_for

EXAMPLES = Path(__file__).parent.parent / "examples"
READ_BACK = "GET /inContactAPI/services/{version}/lists/call-lists/{listId}"


def upload(path: Path, out: Path, sandbox: Sandbox) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "streamer", "upload", str(path), "--out", str(out)],
        env=cli_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def assert_each_once(sandbox: Sandbox, out: Path) -> None:
    """The run ended exact, and no row reached the sandbox twice."""
    report = await assert_exact(sandbox, out)
    assert sandbox.stats()["records_received"] == report["outcomes"]["uploaded"]


@pytest.mark.timeout(300)
async def test_a_throttled_slow_tenant_still_gets_every_row_once(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    await anyio.run_process([sys.executable, str(EXAMPLES / "make_contacts.py"), str(path),
                             "--rows", "12000", "--seed", "3"])
    config = SandboxConfig(rate_limit=2, latency_ms=100, job_delay_ms=1500)
    async with Sandbox(config) as sandbox:
        run = upload(path, tmp_path / "out", sandbox)
        _, err = await anyio.to_thread.run_sync(run.communicate)
        assert run.returncode == 0, err
        assert "Traceback" not in err
        requests = sandbox.stats()["requests"]
        assert requests[READ_BACK].get("429", 0) > 0  # it was throttled, and waited it out
        await assert_each_once(sandbox, tmp_path / "out")


def read_back_from(journal: Path) -> int:
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=0.1) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'read_back_from'").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


@pytest.mark.timeout(300)
async def test_a_read_back_killed_halfway_resumes_where_it_stopped(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone", "id"], *[[f"(415) 555-{n:04d}", f"c{n}"] for n in range(3000)]])
    out = tmp_path / "out"
    async with Sandbox(SandboxConfig(rate_limit=8)) as sandbox:
        run = upload(path, out, sandbox)
        deadline = time.monotonic() + 120
        while (reached := read_back_from(out / "journal.sqlite3")) < 500:
            assert run.poll() is None and time.monotonic() < deadline, "read-back never began"
            await anyio.sleep(0.05)
        run.send_signal(signal.SIGKILL)
        run.communicate()
        pages_before = Counter(sandbox.stats()["requests"][READ_BACK])["200"]
        report = await streamer.run(path, settings_for(sandbox, out))
        assert report.resumed
        pages_after = sandbox.stats()["requests"][READ_BACK]["200"] - pages_before
        # The resumed run read from where the killed one had got to (at least), and past
        # the end only as far as its side-by-side readers looked before one saw it.
        readers = settings_for(sandbox, out).concurrency
        assert pages_after <= (3000 - reached) // 100 + readers
        assert pages_after < 3000 // 100  # not the whole list again
        assert report.verification["verified"] == 3000
        await assert_each_once(sandbox, out)
