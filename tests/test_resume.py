"""Stopping, crashing and resuming: nothing lost, nothing uploaded twice."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import anyio
import pytest

import streamer
from streamer import ConfigError, Interrupted, Outcome, Sandbox, SandboxConfig
from streamer.cxone import CXoneClient
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for, stored_records

SAMPLE = Path(__file__).parent.parent / "examples" / "contacts.csv"


async def test_a_stopped_run_resumes_and_ends_complete(
    sandbox: Sandbox, api: CXoneClient, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path, batch_size=50, chunk_rows=64, list_name="r")
    stop = anyio.Event()
    seen: list[Outcome] = []
    with pytest.raises(Interrupted, match="run the same command again to resume"):
        async for outcome in streamer.stream(SAMPLE, settings, stop=stop):
            seen.append(outcome)
            stop.set()
    assert (tmp_path / "journal.sqlite3").exists()
    assert not (tmp_path / "outcomes.csv").exists()
    received_before = sandbox.stats()["records_received"]
    assert 0 < received_before < 700

    report = await streamer.run(SAMPLE, settings)
    assert report.resumed and report.balanced and report.failed == 0
    assert not (tmp_path / "journal.sqlite3").exists()
    outcomes = read_outcomes(tmp_path)
    assert [int(o["record"]) for o in outcomes] == list(range(1, report.rows_read + 1))
    uploaded = sorted(o["external_id"] for o in outcomes if o["outcome"] == "uploaded")
    assert report.list_id is not None
    records = await stored_records(sandbox, report.list_id)
    assert sorted(r["externalId"] for r in records) == uploaded
    assert len({r["phoneNumber"] for r in records}) == len(records)
    # Rows sent before the stop were checked in the list, not sent a second time.
    assert sandbox.stats()["records_received"] == len(uploaded)
    # Read-back's word covers both runs: what the stopped one verified, and this one.
    verification = report.verification
    assert verification["verified"] + verification["verified_earlier"] == len(uploaded)
    assert verification["list_status"] == "Active"
    assert verification["list_valid_records"] == len(uploaded)


async def test_a_changed_file_or_changed_settings_is_refused_until_restart(
    sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone"], *[[f"(415) 555-{n:04d}"] for n in range(2000, 2300)]])
    out = tmp_path / "out"
    stop = anyio.Event()
    stop.set()
    with pytest.raises(Interrupted):
        await streamer.run(path, settings_for(sandbox, out, chunk_rows=10), stop=stop)
    with pytest.raises(ConfigError, match="unfinished run with other settings"):
        await streamer.run(path, settings_for(sandbox, out, chunk_rows=10,
                                              default_region="CA"))
    with open(path, "a", encoding="utf-8") as file:
        file.write("(415) 555-3000\r\n")
    with pytest.raises(ConfigError, match="unfinished run of a different file"):
        await streamer.run(path, settings_for(sandbox, out, chunk_rows=10))
    report = await streamer.run(path, settings_for(sandbox, out, restart=True))
    assert not report.resumed and report.balanced and report.rows_read == 301


async def test_a_resumed_run_may_change_concurrency_and_retries(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    stop = anyio.Event()
    stop.set()
    with pytest.raises(Interrupted):
        await streamer.run(SAMPLE, settings_for(sandbox, tmp_path, chunk_rows=100), stop=stop)
    report = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path, chunk_rows=100,
                                                     concurrency=1, max_concurrency=2))
    assert report.resumed and report.balanced


async def test_rows_lost_after_a_crash_are_sent_again_on_resume(tmp_path: Path) -> None:
    # A run "crashes" (stops) after sending; the list then loses what it stored: the
    # resumed run must find them missing and send them again.
    async with Sandbox(SandboxConfig()) as sandbox:
        settings = settings_for(sandbox, tmp_path, batch_size=100, chunk_rows=128)
        stop = anyio.Event()
        stop.set()
        with pytest.raises(Interrupted):
            await streamer.run(SAMPLE, settings, stop=stop)
        sent_before = sandbox.stats()["records_received"]
        assert sent_before > 0
        for calling_list in sandbox._lists.values():
            calling_list.forget_records()
        report = await streamer.run(SAMPLE, settings)
        assert report.failed == 0 and report.balanced
        assert sandbox.stats()["records_received"] == sent_before + report.outcomes["uploaded"]
        uploaded = sorted(o["external_id"] for o in read_outcomes(tmp_path)
                          if o["outcome"] == "uploaded")
        assert report.list_id is not None
        stored_ids = sorted(r["externalId"] for r in
                            sandbox._lists[report.list_id].records.values())
        assert stored_ids == uploaded


async def test_a_dry_run_resumes_too(tmp_path: Path) -> None:
    stop = anyio.Event()
    stop.set()
    settings = settings_for(None, tmp_path, dry_run=True, chunk_rows=100, batch_size=100)
    with pytest.raises(Interrupted):
        await streamer.run(SAMPLE, settings, stop=stop)
    report = await streamer.run(SAMPLE, settings)
    assert report.resumed and report.balanced
    assert len(read_outcomes(tmp_path)) == report.rows_read


async def test_an_unfinished_run_of_another_journal_format_is_not_resumed(
    tmp_path: Path,
) -> None:
    settings = settings_for(None, tmp_path, dry_run=True)
    stop = anyio.Event()
    stop.set()
    with pytest.raises(Interrupted):
        await streamer.run(SAMPLE, settings, stop=stop)
    database = sqlite3.connect(tmp_path / "journal.sqlite3")
    database.execute("PRAGMA user_version = 1")
    database.close()
    with pytest.raises(ConfigError, match="another streamer version"):
        await streamer.run(SAMPLE, settings)
    report = await streamer.run(SAMPLE, dataclasses.replace(settings, restart=True))
    assert report.balanced
