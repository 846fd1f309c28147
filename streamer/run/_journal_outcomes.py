"""The journal's part for outcomes: what each row ended as, and outcomes.csv kept in step.

Most rows end plainly (``uploaded``, or a dry run's ``accepted``, with nothing noted), and
nothing reads such a row again but its line in outcomes.csv. So the journal keeps no row
of its own for them: their lines are appended to outcomes.csv in record order as the run
goes (:class:`~streamer.run._outcome_file.OutcomeFile`), and the journal keeps how far
that file has got, records 1 to ``outcomes_written`` in its first ``outcomes_bytes``
bytes (the one range of settled records it needs), and how many plain rows it holds by
outcome and country (``tally``, for the report), in the same transaction that records
the outcomes.

A row keeps an entry of its own in ``outcomes`` only when something reads it later: a
rejected or failed row's fields and reason (rejected.csv, failed.csv), a duplicate's
``duplicate_of`` (the report's examples), a kept row's notes (notes.csv), any reason's
first record (the report); and a plain row decided after a row still undecided, which
nothing else could bring back after a kill (below).

Outcomes do not come in record order: the batcher passes a batch's rejected rows on
before its accepted ones are uploaded, upload workers finish out of turn, and with
read-back every uploaded row waits for the end. The lines go out as the records before
them are settled: a row with an entry comes back from the table, a plain one waits in
memory (``held``). Only ``uploaded`` rows wait there, since their ``sent`` entry stays
until their line is written: a kill loses nothing a resumed run cannot find again by
reading the list back, as it does for every row in flight. What waits is bounded by the
uploads in flight, each up to ``batch_size`` rows (read-back sends its rows in record
order, so nothing waits for it); a batch stuck in retries while later ones complete
could hold more, so past ``_HELD_MAX`` rows the waiting rows get entries of their own.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

from streamer.records import Outcome, OutcomeKind, RowBatch
from streamer.run._journal_sent import FIELD_SEPARATOR
from streamer.run._local_io import sqlite_io, sqlite_io_pages
from streamer.run._outcome_file import OutcomeFile, id_cell, outcome_line

OUTCOMES_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    record       INTEGER PRIMARY KEY,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    duplicate_of INTEGER,
    external_id  TEXT NOT NULL,
    fields       TEXT,
    detail       TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS tally (
    outcome TEXT NOT NULL,
    country TEXT NOT NULL,
    rows    INTEGER NOT NULL,
    PRIMARY KEY (outcome, country)
) WITHOUT ROWID;
"""
_COLUMNS = "record, outcome, reason, duplicate_of, external_id, fields, detail, country"
_LINE_COLUMNS = "record, outcome, reason, duplicate_of, external_id"
#: Plain uploaded rows waiting for a row before them, at most (about 250 bytes each).
_HELD_MAX = 65_536
_PAGE_MAX = 4_096
_WRITTEN, _BYTES, _FINISHED = "outcomes_written", "outcomes_bytes", "outcomes_finished"
_UPLOADED = OutcomeKind.UPLOADED.value


class Counts(NamedTuple):
    """Outcomes by kind, by reason, in all, and each reason's first record (an example to
    look at)."""

    by_kind: dict[str, int]
    by_reason: dict[str, int]
    total: int
    reason_samples: dict[str, int]


class _Held(NamedTuple):
    """A plain outcome waiting for the records before it."""

    line: str
    outcome: str
    country: str
    external_id: str


class _Step(NamedTuple):
    """Lines written in a transaction, applied once it commits."""

    written: int
    size: int
    taken: list[int]


def _unchanged(batch: RowBatch) -> RowBatch:
    return batch


class OutcomesJournal:
    """The outcomes' tables, outcomes.csv and the resume filter; a part of
    :class:`~streamer.run.Journal`."""

    path: Path
    _db: sqlite3.Connection
    repeated: int
    _lines: OutcomeFile | None
    _held: dict[int, _Held]
    _written: int

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError  # the journal's own

    def get(self, key: str) -> str | None:
        raise NotImplementedError  # the journal's own

    def _outcome_file(self) -> OutcomeFile:
        """outcomes.csv's part file: started (a fresh run), or cut back to what the
        journal committed (a resumed one)."""
        if self._lines is not None:
            return self._lines
        file = OutcomeFile(self.path.with_name("outcomes.csv"))
        committed = self.get(_BYTES)
        if committed is None:
            with self._transaction():
                size = file.start()
                self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                     ((_WRITTEN, "0"), (_BYTES, str(size))))
            file.size, self._written = size, 0
        else:
            file.reopen(int(committed), finished=self.get(_FINISHED) is not None)
            self._written = int(self.get(_WRITTEN) or 0)
        self._lines = file
        return file

    @sqlite_io
    def record_outcomes(self, outcomes: list[Outcome]) -> None:
        """Remember decided outcomes; rejected and failed rows keep their fields; the
        lines the records before them allow go to outcomes.csv.

        A row that was waiting for read-back stops waiting in the same transaction, so
        no row is ever both decided and waiting, whenever the process dies.
        """
        file = self._outcome_file()
        written, held = self._written, self._held
        full: list[tuple[object, ...]] = []
        gone: list[tuple[int]] = []
        added: list[int] = []
        repeated = 0
        fills_gap = False
        uploaded, failed = OutcomeKind.UPLOADED, OutcomeKind.FAILED  # (an Enum's hash is slow)
        for o in outcomes:
            record = o.record
            if record <= written or record in held:
                repeated += 1
                continue
            fills_gap = fills_gap or record == written + 1
            if o.reason is None and not o.fields and not o.detail:
                kind = o.outcome.value
                held[record] = _Held(f"{record},{kind},,,{id_cell(o.external_id)}\r\n", kind,
                                     o.country, o.external_id)
                added.append(record)
                continue
            full.append((record, o.outcome.value, o.reason, o.duplicate_of, o.external_id,
                         FIELD_SEPARATOR.join(o.fields) if o.fields else None, o.detail,
                         o.country))
            if o.outcome is uploaded or o.outcome is failed:
                gone.append((record,))
        try:
            with self._transaction():
                inserted = self._db.executemany(
                    f"INSERT OR IGNORE INTO outcomes ({_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", full).rowcount
                repeated += len(full) - inserted
                self._db.executemany("DELETE FROM sent WHERE record = ?", gone)
                step = self._advance(file) if fills_gap else None
                done = set(step.taken) if step else set()
                spill = [r for r in (held if len(held) > _HELD_MAX else added)
                         if r not in done and (len(held) > _HELD_MAX
                                               or held[r].outcome != _UPLOADED)]
                repeated += self._spill(spill)
        except BaseException:
            file.rollback()
            for record in added:
                held.pop(record, None)
            raise
        self._apply(file, step, spill)
        self.repeated += repeated

    def _advance(self, file: OutcomeFile, *, through_gaps: bool = False) -> _Step:
        """Write the lines of the records settled after the last one written, up to the
        first not yet decided (``through_gaps``: past it, as far as any is decided), and
        commit how far the file has got. In a transaction."""
        held, first = self._held, self._written + 1
        record = first
        lines: list[str] = []
        taken: list[int] = []
        tally: dict[tuple[str, str], int] = {}
        page: list[Any] = []
        at, more, limit = 0, True, 64
        while True:
            if at == len(page) and more:  # the next entries of their own, a page at a time
                page = self._db.execute(
                    f"SELECT {_LINE_COLUMNS} FROM outcomes WHERE record >= ? "
                    "ORDER BY record LIMIT ?", (record, limit)).fetchall()
                at, more, limit = 0, len(page) == limit, min(2 * limit, _PAGE_MAX)
            if at < len(page) and page[at][0] == record:
                lines.append(outcome_line(*page[at]))
                at += 1
                if record in held:  # decided twice: the entry, recorded first, stands
                    taken.append(record)
                    self.repeated += 1
            elif (entry := held.get(record)) is not None:
                lines.append(entry.line)
                taken.append(record)
                key = (entry.outcome, entry.country)
                tally[key] = tally.get(key, 0) + 1
            elif through_gaps and at < len(page):
                record = page[at][0]
                continue
            else:
                break
            record += 1
        if not lines:
            return _Step(self._written, file.size, taken)
        size = file.append("".join(lines).encode())
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             ((_WRITTEN, str(record - 1)), (_BYTES, str(size))))
        self._db.executemany(
            "INSERT INTO tally VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET rows = rows + "
            "excluded.rows", [(kind, country, n) for (kind, country), n in tally.items()])
        self._db.execute("DELETE FROM sent WHERE record BETWEEN ? AND ?", (first, record - 1))
        return _Step(record - 1, size, taken)

    def _spill(self, records: list[int]) -> int:
        """Waiting rows that get entries of their own (see the module's docstring); how
        many had one already. In a transaction."""
        held = self._held
        rows = [(r, held[r].outcome, held[r].external_id, held[r].country) for r in records]
        inserted = self._db.executemany(
            "INSERT OR IGNORE INTO outcomes (record, outcome, external_id, country) "
            "VALUES (?, ?, ?, ?)", rows).rowcount
        self._db.executemany("DELETE FROM sent WHERE record = ?", ((r,) for r in records))
        return len(rows) - inserted

    def _apply(self, file: OutcomeFile, step: _Step | None, spilled: list[int]) -> None:
        """What a committed transaction wrote, now true in memory too."""
        held = self._held
        if step is not None:
            self._written, file.size = step.written, step.size
            for record in step.taken:
                held.pop(record, None)
        for record in spilled:
            held.pop(record, None)

    @sqlite_io
    def finish_outcomes(self) -> None:
        """Every row has its outcome: the last lines written (past any record that never
        got one, as an export in record order would), and the file put in place."""
        file = self._outcome_file()
        if self.get(_FINISHED) is None:
            try:
                with self._transaction():
                    spilled = list(self._held)
                    self.repeated += self._spill(spilled)
                    step = self._advance(file, through_gaps=True)
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')",
                                     (_FINISHED,))
            except BaseException:
                file.rollback()
                raise
            self._apply(file, step, spilled)
        file.finish()
        self._lines = None

    def _kept_ids(self, outcome: str) -> Iterator[str]:
        """The external ids (as uploaded) of every row with ``outcome``, from outcomes.csv."""
        return self._outcome_file().external_ids(outcome)

    @sqlite_io
    def resume_filter(self) -> Callable[[RowBatch], RowBatch]:
        """The resume filter: drops the rows an earlier run already decided or handed to
        CXone (:meth:`settled` as it stands now); a fresh run's passes batches untouched."""
        settled = self.settled()
        if not settled:
            return _unchanged
        firsts = [first for first, _ in settled]
        lasts = [last for _, last in settled]
        end = lasts[-1]

        def unsettled(record: int) -> bool:
            at = bisect_right(firsts, record) - 1
            return at < 0 or record > lasts[at]

        return lambda batch: [row for row in batch
                              if row.record > end or unsettled(row.record)]

    @sqlite_io
    def settled(self) -> list[tuple[int, int]]:
        """The records that need nothing more (decided, or sent), as ranges (first, last)
        in order: those written to outcomes.csv, then each run of entries past them."""
        self._outcome_file()
        written = self._written
        ranges = [(1, written)] if written else []
        for (record,) in self._db.execute(
                "SELECT record FROM outcomes WHERE record > ?1 UNION "
                "SELECT record FROM sent WHERE record > ?1 ORDER BY 1", (written,)):
            if ranges and ranges[-1][1] == record - 1:
                ranges[-1] = (ranges[-1][0], record)
            else:
                ranges.append((record, record))
        return ranges

    @sqlite_io
    def counts(self) -> Counts:
        """The outcomes recorded, counted: the entries in one pass, plus the tally."""
        by_kind: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        samples: dict[str, int] = {}
        for kind, reason, count, first in self._db.execute(
                "SELECT outcome, reason, count(*), min(record) FROM outcomes "
                "GROUP BY outcome, reason ORDER BY reason"):
            by_kind[kind] = by_kind.get(kind, 0) + count
            if reason is not None:
                by_reason[reason] = by_reason.get(reason, 0) + count
                samples[reason] = min(samples.get(reason, first), first)
        for kind, count in self._db.execute("SELECT outcome, sum(rows) FROM tally "
                                            "GROUP BY outcome"):
            by_kind[kind] = by_kind.get(kind, 0) + count
        return Counts(by_kind, by_reason, sum(by_kind.values()), samples)

    @sqlite_io_pages
    def rows_of(self, kind: OutcomeKind, chunk: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of one outcome (rejected, failed) in record order, for their own file:
        the row's fields, then its record, reason and detail."""
        cursor = self._db.execute(
            "SELECT fields, record, reason, detail FROM outcomes WHERE outcome = ? "
            "ORDER BY record", (kind.value,))
        while rows := cursor.fetchmany(chunk):
            yield [(*(fields.split(FIELD_SEPARATOR) if fields is not None else ()),
                    record, reason, detail) for fields, record, reason, detail in rows]
