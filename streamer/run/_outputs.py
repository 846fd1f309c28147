"""The end of a run: the per-row files and the report, written from the journal."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
from structlog.typing import FilteringBoundLogger

from streamer.counters import Mirroring, Phase, Progress, UploadStats, Verification
from streamer.errors import MirrorRefused
from streamer.notes import Note
from streamer.records import OutcomeKind
from streamer.run._html import write_html
from streamer.run._journal import Journal
from streamer.run._local_io import writing
from streamer.run._report import (
    REMOVED_HEADER,
    Report,
    RowFileWriter,
    write_report,
)
from streamer.run._samples import Locate, sampled_records
from streamer.run._webhook import notify
from streamer.settings import Settings

#: The mirror's counts a webhook gets (no external ids: those stay in removed.csv).
_MIRROR_COUNTS = ("list_size", "would_remove", "removed", "failed", "refused", "skipped")


class Timeline:
    """The throughput chart's points: [seconds into the run, rows read, rows decided]."""

    def __init__(self, progress: Progress, *, every_s: float = 0.25) -> None:
        self._progress = progress
        self._every_s = every_s
        self.points: list[list[float]] = []

    def sample(self) -> None:
        """A point, a few times a second at most."""
        progress = self._progress
        now = time.monotonic() - progress.started
        if self.points and now - self.points[-1][0] < self._every_s:
            return
        self.points.append([round(now, 3), progress.rows_read, progress.decided])


def phase_log(progress: Progress) -> list[dict[str, Any]]:
    """Each phase entered: its name, when it began (ISO 8601 in the local time zone, with
    its offset) and how long it lasted (the last one: until now)."""
    marks = progress.phases
    ends = [mark.monotonic for mark in marks[1:]] + [time.monotonic()]
    return [{"phase": mark.phase.value,
             "started_at": datetime.fromtimestamp(mark.wall).astimezone().isoformat(
                 timespec="milliseconds"),
             "seconds": round(end - mark.monotonic, 3)}
            for mark, end in zip(marks, ends, strict=True)]


async def export_outputs(out_dir: Path, journal: Journal, header: tuple[str, ...]) -> None:
    """rejected.csv, failed.csv and notes.csv, in record order, each written whole; then
    outcomes.csv, written as the run went, is put in place."""
    rejected = RowFileWriter(out_dir / "rejected.csv", (*header, "record", "reason", "detail"))
    failed = RowFileWriter(out_dir / "failed.csv", (*header, "record", "reason", "detail"))
    notes = RowFileWriter(out_dir / "notes.csv", ("record", "outcome", "external_id", "notes"))
    files = (rejected, failed, notes)
    try:
        for file in files:
            await file.open()
        for kind, file in ((OutcomeKind.REJECTED, rejected), (OutcomeKind.FAILED, failed)):
            for rows in journal.rows_of(kind):
                await file.write_rows(rows)
        for rows in journal.noted_rows():
            await notes.write_rows(rows)
        journal.finish_outcomes()  # the journal is used from the event loop's thread only
        for file in files:
            await file.commit()
    finally:
        for file in files:
            await file.close()


async def export_removals(out_dir: Path, journal: Journal, mirror: Mirroring) -> None:
    """removed.csv: with ``--mirror``, each record it removed, failed to remove or (a dry
    run, a refused mirror) would remove; without, an earlier run's file is taken away."""
    path = out_dir / "removed.csv"
    if not mirror.enabled:
        with writing(path):
            path.unlink(missing_ok=True)
        return
    removed = RowFileWriter(path, REMOVED_HEADER)
    try:
        await removed.open()
        for rows in journal.removals():
            await removed.write_rows(rows)
        await removed.commit()
    finally:
        await removed.close()


def _size(path: Path) -> int:
    """The input's size now (0 if it is gone: the report is worth more than that number)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_finished_payload(report: Report) -> dict[str, Any]:
    """What a CRM needs to react to the run; counts only, no personal data."""
    return {
        "event": "streamer.run_finished", "run_id": report.run_id,
        "list_id": report.list_id, "list_name": report.list_name,
        "rows_read": report.rows_read, "outcomes": report.outcomes,
        "reasons": report.reasons, "balanced": report.balanced,
        "report_path": str((Path(report.out_dir) / "report.json").resolve()),
    } | ({"mirror": {key: report.mirror[key] for key in _MIRROR_COUNTS}}
         if report.mirror.get("enabled") else {})


async def finish_run(
    *,
    journal: Journal,
    settings: Settings,
    log: FilteringBoundLogger,
    run_id: str,
    input_path: Path,
    out_dir: Path,
    resumed: bool,
    rows_read: int,
    header: tuple[str, ...],
    mapped: dict[str, str],
    reading: dict[str, Any],
    fingerprint: str,
    list_id: int | None,
    list_name: str | None,
    stats: UploadStats,
    verification: Verification,
    timeline: Timeline,
    progress: Progress,
    mirror: Mirroring | None = None,
    locate: Locate | None = None,
) -> Report:
    """Every row has its outcome: write the outputs from the journal, then the report,
    then call the webhook (when one is set) and record its answer in the report.

    The journal goes last: a run killed anywhere before that resumes with every row
    settled, writes the same files again and uploads nothing twice. A mirror the guard
    refused is raised then (:class:`~streamer.errors.MirrorRefused`, with the report).
    ``locate`` finds the few records the report shows in the input again.
    """
    duration = time.monotonic() - progress.started  # to the last row's outcome
    progress.enter(Phase.WRITING)
    mirror = mirror or Mirroring()
    by_kind, by_reason, total, reason_samples = journal.counts()
    await export_outputs(out_dir, journal, header)
    await export_removals(out_dir, journal, mirror)
    sample_rows, duplicates = await sampled_records(journal, reason_samples, locate)
    finished = datetime.now().astimezone()
    # The first phase's start is the run's; without one (a library caller's own Progress
    # that never entered one), the duration measured back from the finish.
    started = (datetime.fromtimestamp(progress.phases[0].wall).astimezone() if progress.phases
               else finished - timedelta(seconds=duration))
    kinds = [kind.value for kind in OutcomeKind
             if kind is not (OutcomeKind.UPLOADED if settings.dry_run else OutcomeKind.ACCEPTED)]
    report = Report(
        run_id=run_id, input=str(input_path), out_dir=str(out_dir),
        dry_run=settings.dry_run, resumed=resumed, rows_read=rows_read,
        outcomes={kind.value: by_kind.get(kind.value, 0) for kind in OutcomeKind},
        reasons=by_reason,
        balanced=journal.repeated == 0 and total == rows_read,
        list_id=list_id, list_name=list_name, job_ids=stats.job_ids,
        upload=stats.summary(), verification=verification.summary(),
        duration_s=round(duration, 3),
        rows_per_second=round(rows_read / duration, 1) if duration > 0 else 0.0,
        fingerprint=fingerprint, settings=settings.describe(), reading=reading,
        reason_samples=reason_samples, progress_timeline=timeline.points,
        phases=phase_log(progress),
        request_timeline=stats.timeline, mirror=mirror.summary(),
        fields={"mapped": mapped, **Note.count(journal.kept_notes())},
        started_at=started.isoformat(timespec="seconds"),
        finished_at=finished.isoformat(timespec="seconds"),
        input_name=input_path.name, input_bytes=_size(input_path),
        countries=journal.countries(kinds), reason_sample_rows=sample_rows,
        duplicate_examples=duplicates,
    )
    report_path = out_dir / "report.json"
    await write_report(report_path, report)
    await anyio.to_thread.run_sync(write_html, out_dir)
    if settings.webhook_url:
        report.webhook = await notify(
            settings.webhook_url, run_finished_payload(report),
            secret=settings.webhook_secret, timeout_s=settings.webhook_timeout,
            attempts=settings.webhook_attempts, log=log,
        )
        await write_report(report_path, report)  # replaced whole: the old or the new
    journal.remove()
    log.info("streamer.run_finished", rows_read=report.rows_read,
             balanced=report.balanced, duration_s=report.duration_s, **report.outcomes)
    if mirror.refused:
        before = f"only the {mirror.removed:,} removed before" if mirror.removed else "nothing"
        raise MirrorRefused(f"--mirror refused: {mirror.refused}; {before} was removed "
                            f"(removed.csv in {out_dir} lists what would be), and every "
                            "row has its outcome", report)
    return report
