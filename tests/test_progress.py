"""What a run tells while it runs: the phases it goes through (the library's Progress and
report.json's ``phases``), and the terminal display drawn from them."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path

import anyio
import pytest

import streamer
from streamer import Phase, Progress, Sandbox, SandboxConfig
from tests.support import settings_for

SAMPLE = Path(__file__).parent.parent / "examples" / "contacts.csv"


def entered(progress: Progress) -> list[Phase]:
    return [mark.phase for mark in progress.phases]


async def test_a_run_goes_from_reading_through_its_jobs_and_read_back_to_its_outputs(
    tmp_path: Path,
) -> None:
    # Jobs that take a moment to complete: the run waits for them once every batch is out.
    async with Sandbox(SandboxConfig(job_delay_ms=50)) as sandbox:
        progress = Progress()
        settings = settings_for(sandbox, tmp_path, batch_size=100, concurrency=2)
        report = await streamer.run(SAMPLE, settings, progress=progress)

    assert report.balanced and report.failed == 0
    assert entered(progress) == [Phase.READING, Phase.UPLOADING, Phase.WAITING,
                                 Phase.VERIFYING, Phase.WRITING]
    assert progress.jobs_waiting == 0  # every job was seen through
    assert progress.page >= 1  # read-back counted its pages
    # The log's clocks move forward, and report.json holds the same phases, timed.
    marks = progress.phases
    assert all(a.monotonic <= b.monotonic and a.wall <= b.wall
               for a, b in itertools.pairwise(marks))
    phases = json.loads((tmp_path / "report.json").read_text())["phases"]
    assert [entry["phase"] for entry in phases] == [
        "reading", "uploading", "waiting for jobs", "verifying", "writing outputs"]
    assert report.phases == phases
    for entry, mark in zip(phases, marks, strict=True):
        started = datetime.fromisoformat(entry["started_at"])
        assert started.utcoffset() is not None  # a local time, with its offset
        assert abs(started.timestamp() - mark.wall) < 0.001
        assert entry["seconds"] >= 0
    # Every phase but the last lasts until the next begins.
    assert [entry["seconds"] for entry in phases[:-1]] == [
        round(b.monotonic - a.monotonic, 3) for a, b in itertools.pairwise(marks)]
    assert sum(entry["seconds"] for entry in phases[:3]) <= report.duration_s


async def test_a_dry_run_reads_then_writes_its_outputs(tmp_path: Path) -> None:
    progress = Progress()
    settings = settings_for(None, tmp_path, dry_run=True)
    report = await streamer.run(SAMPLE, settings, progress=progress)
    assert report.balanced
    assert entered(progress) == [Phase.READING, Phase.WRITING]
    assert [entry["phase"] for entry in report.phases] == ["reading", "writing outputs"]


async def test_a_list_losing_records_is_read_back_again_after_re_sending(
    tmp_path: Path,
) -> None:
    async with Sandbox(SandboxConfig(lose_rate=0.05, seed=3)) as sandbox:
        progress = Progress()
        settings = settings_for(sandbox, tmp_path, batch_size=200)
        report = await streamer.run(SAMPLE, settings, progress=progress)
    assert report.verification["resent"] > 0
    phases = entered(progress)
    assert phases[:4] == [Phase.READING, Phase.UPLOADING, Phase.WAITING, Phase.VERIFYING]
    assert phases[4:6] == [Phase.RESENDING, Phase.VERIFYING]
    assert phases[-1] is Phase.WRITING


async def test_a_resumed_run_says_so_and_first_checks_what_was_sent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path, batch_size=50, list_name="resumed")
    stop = anyio.Event()
    with pytest.raises(streamer.Interrupted):
        async for _ in streamer.stream(SAMPLE, settings, stop=stop):
            stop.set()
    progress = Progress()
    report = await streamer.run(SAMPLE, settings, progress=progress)
    assert report.resumed and progress.resumed and report.balanced
    assert 0 < progress.settled_before < report.rows_read
    # The rows an earlier run handed to CXone are looked for before reading starts.
    assert entered(progress)[:2] == [Phase.VERIFYING, Phase.READING]


def test_the_phase_in_words_carries_its_detail() -> None:
    progress = Progress()
    assert progress.phase is None and progress.describe_phase() == "starting"
    progress.enter(Phase.WAITING)
    progress.jobs_waiting = 1
    assert progress.describe_phase() == "waiting for 1 job"
    progress.jobs_waiting = 12
    assert progress.describe_phase() == "waiting for 12 jobs"
    progress.enter(Phase.VERIFYING)
    progress.page, progress.pages = 3, 9
    assert progress.describe_phase() == "verifying page 3/9"
    progress.pages = 0  # no total given by the list
    assert progress.describe_phase() == "verifying page 3"
    progress.enter(Phase.VERIFYING)  # already there: not logged twice
    assert entered(progress) == [Phase.WAITING, Phase.VERIFYING]
