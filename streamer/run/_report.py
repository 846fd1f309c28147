"""The run's outputs: the per-row outcome file and the reconciliation report."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

from streamer.counters import UploadSummary
from streamer.csv_text import neutralize
from streamer.records import OutcomeKind
from streamer.run._local_io import writing

OUTCOME_HEADER = ("record", "outcome", "reason", "duplicate_of", "external_id")
REMOVED_HEADER = ("external_id", "result", "detail")


@dataclass(slots=True, kw_only=True)
class Report:
    """The reconciliation report: every row read, and where it went."""

    run_id: str
    input: str
    out_dir: str
    dry_run: bool
    resumed: bool
    rows_read: int
    outcomes: dict[str, int]
    reasons: dict[str, int]
    balanced: bool
    list_id: int | None
    list_name: str | None
    job_ids: list[int]
    upload: UploadSummary
    verification: dict[str, Any]
    duration_s: float
    rows_per_second: float
    fingerprint: str = ""
    #: How the file was read: encoding, compression, NULs dropped, stray bytes re-read.
    reading: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    reason_samples: dict[str, int] = field(default_factory=dict)
    #: [seconds into the run, rows read, rows decided], sampled a few times a second.
    progress_timeline: list[list[float]] = field(default_factory=list)
    #: Each phase of the run entered: {"phase", "started_at" (ISO 8601, local offset),
    #: "seconds"}, in order (see :class:`~streamer.counters.Phase`).
    phases: list[dict[str, Any]] = field(default_factory=list)
    request_timeline: list[list[float]] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    #: Each list field uploaded and its input column(s) (``mapped``), then what was done
    #: to kept rows' fields: secondary numbers left out, time zones filled, mobiles marked.
    fields: dict[str, Any] = field(default_factory=dict)
    #: What ``--mirror`` did to the list (``enabled`` false without it).
    mirror: dict[str, Any] = field(default_factory=dict)
    #: When this run started and finished: ISO 8601 local time with its UTC offset
    #: (``2026-12-02T09:14:03+01:00``), which names one instant; empty in older reports.
    started_at: str = ""
    finished_at: str = ""
    #: The input file's name (without its folder) and its size on disk in bytes.
    input_name: str = ""
    input_bytes: int = 0
    #: Outcomes by the rows' country (ISO code, ``unknown`` where neither the country
    #: column nor the number told): ``{"US": {"uploaded": n, "duplicate": n, ...}}``.
    countries: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The row a spreadsheet shows each reason's first record on (the header is row 1).
    reason_sample_rows: dict[str, int] = field(default_factory=dict)
    #: The first few duplicates and the records they duplicate, their data masked.
    duplicate_examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.outcomes.get(OutcomeKind.FAILED, 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_text_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a crash leaves the old file or the new;
    a write the disk refuses leaves as an :class:`~streamer.errors.OutputError`."""
    temporary = path.with_name(path.name + ".part")
    with writing(path):
        with open(temporary, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)


async def write_report(path: Path, report: Report) -> None:
    text = json.dumps(report.to_dict(), indent=2) + "\n"
    await anyio.to_thread.run_sync(write_text_atomically, path, text)


class RowFileWriter:
    """A CSV output written to ``<name>.part`` and renamed into place by :meth:`commit`;
    a write the disk refuses leaves as an :class:`~streamer.errors.OutputError`."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        """Files for people to open: each cell goes through :func:`neutralize`."""
        self.path = path
        self._header = header
        self._partial = path.with_name(path.name + ".part")
        self._file: anyio.AsyncFile[str] | None = None

    async def open(self) -> None:
        with writing(self._partial):
            # anyio's file runs on asyncio and trio alike (aiofiles needs asyncio's loop).
            self._file = await anyio.open_file(self._partial, "w", encoding="utf-8",
                                               newline="")
        await self.write_rows([self._header])

    async def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        """Append rows, every cell neutralised against spreadsheet formulas."""
        buffer = io.StringIO()
        csv.writer(buffer).writerows(
            [neutralize(cell) if isinstance(cell, str) else cell for cell in row] for row in rows)
        if text := buffer.getvalue():
            await self.write_lines(text)

    async def write_lines(self, text: str) -> None:
        """Append lines already made CSV and safe (each ending in CRLF)."""
        assert self._file is not None, "open() first"
        with writing(self._partial):
            await self._file.write(text)

    async def commit(self) -> None:
        assert self._file is not None, "open() first"
        with writing(self._partial):
            await self._file.flush()
            await anyio.to_thread.run_sync(os.fsync, self._file.wrapped.fileno())
            await self._file.aclose()
        with writing(self.path):
            await anyio.to_thread.run_sync(os.replace, self._partial, self.path)

    async def close(self) -> None:
        """Close without committing (the run failed): the ``.part`` file stays for a look.
        Its own failure (the full disk again) would hide the one that got us here."""
        if self._file is not None and not self._file.wrapped.closed:
            with contextlib.suppress(OSError):
                await self._file.aclose()
