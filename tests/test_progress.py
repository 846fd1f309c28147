"""What a run tells while it runs: the phases it goes through (the library's Progress and
report.json's ``phases``), and the terminal display drawn from them."""

from __future__ import annotations

import io
import itertools
import json
import re
from datetime import datetime
from functools import partial
from pathlib import Path

import anyio
import pytest
from rich.console import Console
from rich.text import Text

import streamer
from streamer import Phase, Progress, Sandbox, SandboxConfig
from streamer._cli_progress import ProgressView, RateMeter
from streamer.cli import build_parser, main, settings_from_args
from tests.conftest import WriteCsv
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


async def test_a_mirrored_run_mirrors_after_read_back_and_before_its_outputs(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    progress = Progress()
    settings = settings_for(sandbox, tmp_path, list_name="mirrored", mirror=True)
    report = await streamer.run(SAMPLE, settings, progress=progress)
    assert report.mirror["enabled"] and not report.mirror["skipped"]
    assert entered(progress)[-3:] == [Phase.VERIFYING, Phase.MIRRORING, Phase.WRITING]
    assert [entry["phase"] for entry in report.phases][-2:] == ["mirroring", "writing outputs"]


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


# -- the command line's display ------------------------------------------------------------


def test_the_rate_is_the_last_seconds_and_drops_to_zero_when_nothing_moves() -> None:
    meter = RateMeter(window_s=3.0)
    assert meter.rate(0.0) == 0.0  # nothing measured yet
    for tick in range(41):  # 1,000 rows/s for ten seconds, sampled every quarter second
        meter.add(tick * 0.25, tick * 250)
    assert meter.rate(10.0) == pytest.approx(1_000)
    # Then 200 rows/s: the rate follows within the window, not the average since the start.
    for tick in range(1, 13):
        meter.add(10 + tick * 0.25, 10_000 + tick * 50)
    assert meter.rate(13.0) == pytest.approx(200)
    # Then nothing moves: 0 once the window holds no movement, however fast it went before.
    rates = []
    for tick in range(1, 13):
        meter.add(13 + tick * 0.25, 10_600)
        rates.append(meter.rate(13 + tick * 0.25))
    assert rates[0] > 0  # the last movement is still in the window
    assert rates[-1] == 0.0  # three seconds without a row


def rendered(view: ProgressView, width: int = 80) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, width=width, color_system="truecolor").print(view)
    return Text.from_ansi(buffer.getvalue()).plain.splitlines()


def busy_progress(phase: Phase, *, bytes_total: int = 50_000_000) -> Progress:
    progress = Progress(bytes_total=bytes_total, bytes_read=bytes_total // 3,
                        rows_read=1_234_567, sent=1_100_000, uploaded=1_020_304,
                        duplicates=45_678, rejected=9_876, failed=321)
    progress.enter(phase)
    return progress


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("width", [80, 100, 160])
def test_the_line_fits_the_terminal_and_shows_every_count(phase: Phase, width: int) -> None:
    progress = busy_progress(phase)
    progress.jobs_waiting, progress.page, progress.pages = 12, 345, 10_000
    view = ProgressView(progress)
    view.sample(100.0)
    progress.rows_read += 50_000
    progress.bytes_read += 2_000_000
    progress.sent += 40_000
    view.sample(101.0)
    lines = rendered(view, width)
    assert len(lines) == 1 and len(lines[0]) < width, lines
    line = lines[0]
    for count in ("1,020,304", "45,678", "9,876", "321"):
        assert count in line
    assert "rej" in line and "fail" in line
    if phase is Phase.READING:  # 2 MB/s, 31.3 MB to go
        assert re.search(r"\b50,000 rows/s\b", line) and "37%" in line, line
        assert "ETA 0:15" in line or width == 80  # at 80 the ETA gives way to the counts
    if width >= 100:
        assert line.startswith(progress.describe_phase())


def test_reading_a_file_of_unknown_size_shows_no_share_and_no_eta() -> None:
    view = ProgressView(busy_progress(Phase.READING, bytes_total=0))
    view.sample(1.0)
    line = rendered(view, 160)[0]
    assert line.startswith("reading") and "rows/s" in line
    assert "%" not in line and "ETA" not in line and "━" not in line


def test_a_stalled_read_shows_0_rows_per_second_and_no_eta() -> None:
    progress = busy_progress(Phase.READING)
    view = ProgressView(progress)
    for tick in range(20):  # fast at first, then the numbers stop for 4 seconds
        view.sample(tick * 0.25)
        if tick < 4:
            progress.rows_read += 10_000
            progress.bytes_read += 500_000
    line = rendered(view, 120)[0]
    assert " 0 rows/s" in line and "ETA -:--" in line, line


def test_a_resumed_cli_run_says_so_first_and_in_its_summary(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    # More rows than one batch of the reader, which a stop lets through whole.
    source = write_csv([["phone"], *[[f"(415) 555-{n:04d}"] for n in range(5_000)]])
    argv = ["upload", str(source), "--out", str(tmp_path / "out"), "--dry-run"]
    stop = anyio.Event()
    stop.set()  # the first run stops after its first batch, its journal kept
    settings = settings_from_args(build_parser().parse_args(argv))
    with pytest.raises(streamer.Interrupted):
        anyio.run(partial(streamer.run, source, settings, stop=stop))
    capsys.readouterr()

    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(r"streamer: resuming: [\d,]+ rows already settled\n", err), err
    settled = int(err.split()[2].replace(",", ""))
    assert 0 < settled < 5_000
    assert "(balanced; resumed; dry run)" in out


def test_a_fresh_cli_run_announces_no_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upload", str(SAMPLE), "--out", str(tmp_path), "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "resuming" not in err and "resumed" not in out and "balanced" in out
