"""The counters a run keeps while it goes: progress and its phases (what a display shows),
upload statistics, read-back and the mirror. Base: imports only :mod:`streamer.records`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, TypedDict

from streamer.records import Outcome, OutcomeKind


class Phase(StrEnum):
    """What a run is doing, in the usual order; a resumed run first verifies what an earlier
    one may have uploaded, re-sending goes back to verifying, a dry run reads then writes."""

    READING = "reading"
    UPLOADING = "uploading"  # every row read; batches still going out
    WAITING = "waiting for jobs"  # every batch sent; CXone's jobs not all completed
    VERIFYING = "verifying"
    RESENDING = "re-sending"
    MIRRORING = "mirroring"
    WRITING = "writing outputs"


class PhaseMark(NamedTuple):
    """A phase entered, and when: ``time.monotonic()`` (for durations) and ``time.time()``."""
    phase: Phase
    monotonic: float
    wall: float


@dataclass(slots=True)
class Progress:
    """Live counters for a progress display; the run updates them, anyone may read them.
    ``phases`` logs each phase entered; ``jobs_waiting`` counts CXone jobs not yet seen
    completed; ``page`` of ``pages`` (0: not known) is where read-back has got to."""

    bytes_total: int = 0  # 0: not known (no share, no ETA)
    bytes_read: int = 0
    rows_read: int = 0
    sent: int = 0
    uploaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    started: float = 0.0
    resumed: bool = False
    settled_before: int = 0  # rows a resumed run found settled by the runs before it
    phases: list[PhaseMark] = field(default_factory=list)
    jobs_waiting: int = 0
    page: int = 0
    pages: int = 0

    @property
    def decided(self) -> int:
        return self.uploaded + self.duplicates + self.rejected + self.failed

    @property
    def phase(self) -> Phase | None:
        return self.phases[-1].phase if self.phases else None

    def enter(self, phase: Phase) -> None:
        """Log ``phase`` as begun now, unless the run is in it already."""
        if phase is not self.phase:
            self.phases.append(PhaseMark(phase, time.monotonic(), time.time()))

    def describe_phase(self) -> str:
        """The phase in words, with its detail: ``waiting for 3 jobs``, ``verifying page 2/9``."""
        phase = self.phase
        if phase is Phase.WAITING:
            return f"waiting for {self.jobs_waiting:,} job{'' if self.jobs_waiting == 1 else 's'}"
        if phase is Phase.VERIFYING and self.page:
            return f"verifying page {self.page:,}" + (f"/{self.pages:,}" if self.pages else "")
        return phase.value if phase is not None else "starting"

    def count(self, outcomes: list[Outcome]) -> None:
        """Add decided outcomes to the counters (a dry run's ``accepted`` as uploaded)."""
        for outcome in outcomes:
            kind = outcome.outcome
            if kind is OutcomeKind.UPLOADED or kind is OutcomeKind.ACCEPTED:
                self.uploaded += 1
            elif kind is OutcomeKind.DUPLICATE:
                self.duplicates += 1
            elif kind is OutcomeKind.REJECTED:
                self.rejected += 1
            else:
                self.failed += 1


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class UploadSummary(TypedDict):
    """``report.json``'s ``upload``: :meth:`UploadStats.summary`."""

    batches: int
    failed_batches: int
    rows_sent: int
    requests: int
    succeeded: int
    retries: int
    throttled: int
    success_rate: float | None
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    #: The adaptive window: ``start``, ``lowest``, ``highest``, ``final`` and ``maximum``.
    concurrency: dict[str, int]


@dataclass(slots=True)
class UploadStats:
    """What the uploader saw: requests, retries, throttling, and latency."""

    requests: int = 0
    succeeded: int = 0
    retries: int = 0
    throttled: int = 0
    batches: int = 0
    failed_batches: int = 0
    rows_sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    concurrency: dict[str, int] = field(default_factory=dict)
    #: One entry per upload request: [seconds into the run, latency ms, HTTP status (0: no
    #: answer), uploads allowed in flight]. A few thousand at most: one per batch try.
    timeline: list[list[float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note_request(self, latency_ms: float, status: int, concurrency: int) -> None:
        self.timeline.append([round(time.monotonic() - self.started, 3), round(latency_ms, 1),
                              status, concurrency])

    def summary(self) -> UploadSummary:
        p50, p95 = percentile(self.latencies_ms, 0.5), percentile(self.latencies_ms, 0.95)
        return {
            "batches": self.batches,
            "failed_batches": self.failed_batches,
            "rows_sent": self.rows_sent,
            "requests": self.requests,
            "succeeded": self.succeeded,
            "retries": self.retries,
            "throttled": self.throttled,
            "success_rate": round(self.succeeded / self.requests, 4) if self.requests else None,
            "latency_ms_p50": round(p50, 1) if p50 is not None else None,
            "latency_ms_p95": round(p95, 1) if p95 is not None else None,
            "concurrency": self.concurrency,
        }


@dataclass(slots=True)
class Verification:
    """What read-back reconciliation found; goes into the report.

    The counts are this run's; ``verified_earlier`` is what earlier runs of a resumed
    run had verified already. ``incomplete`` says why read-back could not finish (its
    undecided rows failed with ``verify_incomplete``); the ``list_*`` fields are what
    CXone said of the list as a whole on the last read-back.
    """

    enabled: bool = False
    records_read: int = 0
    verified: int = 0
    verified_earlier: int = 0
    resent: int = 0
    missing_after_upload: int = 0
    incomplete: str | None = None
    list_status: str | None = None
    list_total_records: int | None = None
    list_valid_records: int | None = None
    list_invalid_records: int | None = None

    def summary(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Mirroring:
    """What ``--mirror`` did to the list; goes into the report.

    ``list_size`` counts the distinct external ids the list held when it was read, before
    anything was removed; ``would_remove`` those of them not among the file's uploaded
    rows (in a dry run: its accepted rows). Of those, ``removed`` left the list and
    ``failed`` did not. ``refused`` says why the guard removed nothing; ``skipped`` why the
    mirror did not run at all (a failed row, no list yet).
    """

    enabled: bool = False
    dry_run: bool = False
    max_remove: float = 0.0
    list_name: str | None = None
    list_size: int = 0
    would_remove: int = 0
    removed: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    refused: str | None = None
    skipped: str | None = None

    def summary(self) -> dict[str, Any]:
        return asdict(self)
