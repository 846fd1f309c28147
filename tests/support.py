"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer import RetryPolicy, Sandbox, Settings, _core


def settings_for(sandbox: Sandbox | None, out: Path, **overrides: object) -> Settings:
    """Settings for a test run: quick job polls, few retries with short waits."""
    values: dict[str, object] = {
        "out_dir": out,
        "credentials": sandbox.credentials if sandbox is not None else None,
        "retry": RetryPolicy(attempts=8, wait_initial=0.01, wait_max=0.05, timeout=10,
                             give_up_after=10),
        "job_poll_initial": 0.01,
        "job_poll_max": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def read_outcomes(out: Path) -> list[dict[str, str]]:
    with open(out / "outcomes.csv", encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def stored_records(sandbox: Sandbox, list_id: int) -> list[dict[str, str]]:
    """What the sandbox holds for a list, whole records in the order first stored (its
    own introspection route: not the client under test)."""
    async with aiohttp.ClientSession() as session, session.get(
            f"{sandbox.url}/sandbox/lists/{list_id}/records") as response:
        response.raise_for_status()
        records: list[dict[str, str]] = (await response.json())["records"]
        return records


async def assert_exact(sandbox: Sandbox, out: Path) -> dict[str, Any]:
    """The run in ``out`` ended complete: its report balanced with no row failed, every
    record once in outcomes.csv in record order, the journal gone, and the sandbox's list
    holding exactly the rows ``uploaded``. Returns the report."""
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert report["balanced"] and report["outcomes"]["failed"] == 0, report
    outcomes = read_outcomes(out)
    assert [int(o["record"]) for o in outcomes] == list(range(1, report["rows_read"] + 1))
    uploaded = sorted(o["external_id"] for o in outcomes if o["outcome"] == "uploaded")
    assert uploaded
    stored = await stored_records(sandbox, report["list_id"])
    assert sorted(record["externalId"] for record in stored) == uploaded
    assert not (out / "journal.sqlite3").exists()
    return report


def passed_in_the_twin(request: pytest.FixtureRequest) -> bool:
    """Under the compiled core, run this test again in a pytest of its own on the
    pure-Python twin (the same source), and say whether it passed there; under the twin,
    False: the test goes on here. For tests that patch a compiled module's class or
    function, which only the interpreter allows."""
    if not _core.CORE.compiled:
        return False
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
        env=os.environ | {_core.PURE_ENV: "1"}, capture_output=True, text=True,
        cwd=request.config.rootpath, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    return True
