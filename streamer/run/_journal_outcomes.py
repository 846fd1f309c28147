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
them are settled (:mod:`streamer.run._outcome_order`): a row with an entry comes back
from the table, a plain one waits in memory (``_pending``). Only ``uploaded`` rows wait
there, since their ``sent`` entry stays until their line is written: a kill loses
nothing a resumed run cannot find again by reading the list back, as it does for every
row in flight; any other plain row decided out of turn gets an entry. What waits is
bounded by the uploads in flight, each up to ``batch_size`` rows (a dry run's accepted
rows come in record order, after the rows before them; read-back sends its rows in
record order); a batch stuck in retries while later ones complete could hold more, so
past ``_HELD_MAX`` rows the waiting rows get entries of their own too.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

from streamer.csv_text import FORMULA_STARTS
from streamer.records import Outcome, OutcomeKind, RowBatch
from streamer.run._journal_sent import FIELD_SEPARATOR
from streamer.run._local_io import sqlite_io, sqlite_io_pages
from streamer.run._outcome_file import OutcomeFile
from streamer.run._outcome_order import ENTRY, PLAIN, Item, plain_items, take_run

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
#: SQL for the characters :func:`neutralize` acts on, and for a cell CSV must quote: an
#: entry's line is made by SQLite, and only ids that are either go to ``outcome_cell``.
_FORMULA_START_LITERALS = ", ".join(f"char({ord(c)})" for c in sorted(FORMULA_STARTS))
_NEEDS_QUOTES = " OR ".join(f"instr(external_id, char({ord(c)}))" for c in ',"\r\n')
_ENTRY_LINE = (
    "record || ',' || outcome || ',' || coalesce(reason, '') || ',' || "
    "coalesce(duplicate_of, '') || ',' || "
    f"CASE WHEN substr(external_id, 1, 1) IN ({_FORMULA_START_LITERALS}) OR {_NEEDS_QUOTES} "
    "THEN outcome_cell(external_id) ELSE external_id END || char(13, 10)")
#: Plain uploaded rows waiting for a row before them, at most (about 250 bytes each).
_HELD_MAX = 65_536
_PAGE_MAX = 4_096
_CHUNKS = (256, 64, 16, 4, 1)
_WRITTEN, _BYTES, _FINISHED = "outcomes_written", "outcomes_bytes", "outcomes_finished"
_UPLOADED = OutcomeKind.UPLOADED


class Counts(NamedTuple):
    """Outcomes by kind, by reason, in all, and each reason's first record (an example to
    look at)."""

    by_kind: dict[str, int]
    by_reason: dict[str, int]
    total: int
    reason_samples: dict[str, int]


class _Step(NamedTuple):
    """What a transaction wrote to outcomes.csv, made true in memory once it commits."""

    written: int
    size: int
    pending: list[Item]


def _unchanged(batch: RowBatch) -> RowBatch:
    return batch


def _in_chunks(db: sqlite3.Connection, sql: str, values: str,
               rows: Sequence[tuple[object, ...]]) -> int:
    """``sql`` run for ``rows``, many to a statement (``{}`` in it takes ``values`` once
    for each); how many rows it changed.

    Not ``executemany``: SQLite lets go of the GIL for each statement it steps, and the
    main process has other threads that take it each time. Chunks of 256, 64, 16, 4 and
    1 rows keep the statements few, and each one's text cached."""
    changed = at = 0
    for size in _CHUNKS:
        statement = sql.format(", ".join([values] * size))
        while len(rows) - at >= size:
            changed += db.execute(statement, [v for row in rows[at:at + size] for v in row]
                                  ).rowcount
            at += size
    return changed


class OutcomesJournal:
    """The outcomes' tables, outcomes.csv and the resume filter; a part of
    :class:`~streamer.run.Journal`."""

    path: Path
    _db: sqlite3.Connection
    repeated: int
    _lines: OutcomeFile | None
    _pending: list[Item]
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
        if not outcomes:
            return
        file = self._outcome_file()
        written = self._written
        full: list[tuple[object, ...]] = []
        gone: list[tuple[int]] = []
        plain = [o for o in outcomes if o.reason is None and not o.fields and not o.detail]
        repeated = 0
        uploaded, failed = OutcomeKind.UPLOADED, OutcomeKind.FAILED
        for o in outcomes if len(plain) < len(outcomes) else ():
            if o.reason is None and not o.fields and not o.detail:
                continue
            if o.record <= written:  # its line is written: decided before
                repeated += 1
                continue
            full.append((o.record, o.outcome.value, o.reason, o.duplicate_of, o.external_id,
                         FIELD_SEPARATOR.join(o.fields) if o.fields else None, o.detail,
                         o.country))
            if o.outcome is uploaded or o.outcome is failed:
                gone.append((o.record,))
        pending = self._pending + plain_items(plain)
        # Lines can go out only once the first record not written is decided.
        fills_gap = min([o.record for o in outcomes]) <= written + 1
        try:
            with self._transaction():
                inserted = _in_chunks(self._db, f"INSERT OR IGNORE INTO outcomes ({_COLUMNS}) "
                                      "VALUES {}", "(?, ?, ?, ?, ?, ?, ?, ?)", full)
                repeated += len(full) - inserted
                _in_chunks(self._db, "DELETE FROM sent WHERE record IN ({})", "?", gone)
                step = (self._advance(file, pending) if fills_gap
                        else _Step(written, file.size, pending))
                waiting = self._wait_or_spill(step.pending)
        except BaseException:
            file.rollback()
            raise
        self._written, file.size, self._pending = step.written, step.size, waiting
        self.repeated += repeated

    def _advance(self, file: OutcomeFile, pending: list[Item]) -> _Step:
        """Write the lines of the records decided after the last one written, up to the
        first not yet decided, and commit how far the file has got. In a transaction."""
        first = self._written + 1
        pending.sort()
        last = pending[-1][0] if pending else first
        items = pending + self._entry_items("record BETWEEN ? AND ?", (first, last))
        items.sort()  # two sorted runs: a merge
        run = take_run(items, first)
        self.repeated += run.repeated
        lines = run.lines
        if run.taken == len(items):  # every item used: entries may follow on past them
            lines += self._entries_from(run.next)
        rest = [item for item in items[run.taken:] if item[1] == PLAIN]
        if not lines:
            return _Step(self._written, file.size, rest)
        size = file.append("".join(lines).encode())
        last_written = first + len(lines) - 1
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             ((_WRITTEN, str(last_written)), (_BYTES, str(size))))
        self._db.executemany(
            "INSERT INTO tally VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET rows = rows + "
            "excluded.rows",
            [(str(kind), country, n) for (kind, country), n in run.tally.items()])
        self._db.execute("DELETE FROM sent WHERE record BETWEEN ? AND ?", (first, last_written))
        return _Step(last_written, size, rest)

    def _entries_from(self, record: int) -> list[str]:
        """The lines of the entries ``record``, ``record + 1``, ... as long as each has one."""
        lines: list[str] = []
        limit = 64
        while True:
            page = self._entry_items("record >= ? ORDER BY record LIMIT ?", (record, limit))
            page.sort()
            for found, _, line, _ in page:
                if found != record:
                    return lines
                lines.append(line)
                record += 1
            if len(page) < limit:
                return lines
            limit = min(2 * limit, _PAGE_MAX)

    def _entry_items(self, where: str, parameters: tuple[int, ...]) -> list[Item]:
        """The entries ``where`` says, as items (in no order).

        One row comes back, holding them all: SQLite lets go of the GIL for each row it
        steps to, and the main process has other threads that take it each time."""
        records, lines = self._db.execute(
            "SELECT group_concat(record), group_concat(line, char(0)) FROM "
            f"(SELECT record, {_ENTRY_LINE} AS line FROM outcomes WHERE {where})",
            parameters).fetchone()
        if records is None:
            return []
        return [(record, ENTRY, line, None) for record, line in
                zip(map(int, records.split(",")), lines.split("\x00"), strict=True)]

    def _wait_or_spill(self, rest: list[Item]) -> list[Item]:
        """Of the plain items still waiting for an earlier record, those that may wait
        in memory (see the module's docstring); the others get entries now. In a
        transaction."""
        if len(rest) > _HELD_MAX:
            self._spill(rest)
            return []
        waiting = [item for item in rest if item[3] and item[3].outcome is _UPLOADED]
        if len(waiting) < len(rest):
            self._spill([item for item in rest if not (item[3] and item[3].outcome is _UPLOADED)])
        return waiting

    def _spill(self, items: list[Item]) -> None:
        """Plain items as entries of their own (one there already: a repeat)."""
        inserted = self._db.executemany(
            "INSERT OR IGNORE INTO outcomes (record, outcome, external_id, country) "
            "VALUES (?, ?, ?, ?)",
            [(o.record, o.outcome.value, o.external_id, o.country)
             for _, _, _, o in items if o is not None]).rowcount
        self._db.executemany("DELETE FROM sent WHERE record = ?", ((i[0],) for i in items))
        self.repeated += len(items) - inserted

    def _write_the_rest(self, file: OutcomeFile) -> _Step:
        """Every entry past the last record written, in record order, gaps and all (at the
        end: a record that never got an outcome has no line, as in an export)."""
        rows = self._db.execute(
            f"SELECT record, {_ENTRY_LINE} FROM outcomes WHERE record > ? ORDER BY record",
            (self._written,)).fetchall()
        if not rows:
            return _Step(self._written, file.size, [])
        last, lines = rows[-1][0], [line for _, line in rows]
        size = file.append("".join(lines).encode())
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             ((_WRITTEN, str(last)), (_BYTES, str(size))))
        return _Step(last, size, [])

    @sqlite_io
    def finish_outcomes(self) -> None:
        """Every row has its outcome: the last lines written (past any record that never
        got one, as an export in record order would), and the file put in place."""
        file = self._outcome_file()
        if self.get(_FINISHED) is None:
            try:
                with self._transaction():
                    self._spill(self._pending)
                    step = self._write_the_rest(file)
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')",
                                     (_FINISHED,))
            except BaseException:
                file.rollback()
                raise
            self._written, file.size, self._pending = step.written, step.size, []
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
