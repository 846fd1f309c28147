"""The run's journal: a SQLite file (WAL) in the output directory; what makes a run resumable.

It holds every outcome decided so far and every row handed to CXone, each written in a
transaction before the run relies on it, so a crash or kill at any moment leaves it
consistent. A re-run of the same command over the same file with the same settings
resumes from it: settled rows are not sent again, rows whose upload may or may not have
reached CXone are checked by reading the list back, and the output files are written
from it once every row has its outcome. It holds the uploaded fields and the fields of
rejected and failed rows (personal data, like the list itself), never a secret, and is
deleted when a run ends complete.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from streamer.csv_text import FORMULA_STARTS, csv_line, neutralize
from streamer.errors import ConfigError
from streamer.records import Outcome, OutcomeKind, RowBatch
from streamer.run._journal_mirror import MIRROR_SCHEMA, MirrorJournal
from streamer.run._journal_notes import NotesJournal
from streamer.run._journal_report import ReportJournal
from streamer.run._journal_sent import FIELD_SEPARATOR, SENT_SCHEMA, SentJournal
from streamer.run._local_io import journaling, sqlite_io, sqlite_io_pages

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
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
"""
_KEYS = ("fingerprint", "settings")
#: SQLite's user_version for this layout; an unfinished run in another is not resumed.
_FORMAT = 5
_OUTCOME_COLUMNS = ("record, outcome, reason, duplicate_of, external_id, fields, detail, "
                    "country")
#: SQL for the characters :func:`neutralize` acts on, and for a cell CSV must quote:
#: most ids are neither and skip the call to :func:`_outcome_cell`.
_FORMULA_START_LITERALS = ", ".join(f"char({ord(c)})" for c in sorted(FORMULA_STARTS))
_NEEDS_QUOTES = " OR ".join(f"instr(external_id, char({ord(c)}))" for c in ',"\r\n')


def _outcome_cell(text: str) -> str:
    return csv_line((neutralize(text),))


def _unchanged(batch: RowBatch) -> RowBatch:
    return batch


class Counts(NamedTuple):
    """Outcomes by kind, by reason, in all, and each reason's first record (an example to
    look at)."""

    by_kind: dict[str, int]
    by_reason: dict[str, int]
    total: int
    reason_samples: dict[str, int]


def _files(path: Path) -> tuple[Path, Path, Path]:
    return path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


class Journal(MirrorJournal, NotesJournal, ReportJournal, SentJournal):
    """The one place that knows the SQLite schema. A failure of the disk or of the file
    leaves every method as an :class:`~streamer.errors.OutputError` and keeps the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with journaling(path):
            self._db = sqlite3.connect(path, isolation_level=None)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")  # fails first on a damaged file
                # NORMAL in WAL mode survives a process kill (only an OS crash can lose
                # the last transactions); FULL would fsync every batch for a power cut.
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA + SENT_SCHEMA + MIRROR_SCHEMA)
            except BaseException:
                self._db.close()
                raise
        self._db.create_function("outcome_cell", 1, _outcome_cell, deterministic=True)
        self.repeated = 0  # outcomes offered twice for one record: must stay 0

    @classmethod
    def open(cls, path: Path, *, fingerprint: str, settings_key: str,
             restart: bool) -> tuple[Journal, bool]:
        """The journal for this file and settings, and whether it resumes a run.

        An unfinished run of another file or other settings is never silently mixed in
        or thrown away: that takes ``restart``.
        """
        with journaling(path):
            if restart or not path.exists():
                return cls._fresh(path, fingerprint, settings_key), False
            journal = cls(path)
            try:
                stored = journal._meta()
                if not stored:  # created but never stamped: nothing in it worth keeping
                    journal.remove()
                    return cls._fresh(path, fingerprint, settings_key), False
                journal._check_resumable(stored, fingerprint, settings_key)
            except BaseException:
                journal.close()  # kept on disk, whatever is wrong with it
                raise
            return journal, True

    def _check_resumable(self, stored: dict[str, str], fingerprint: str,
                         settings_key: str) -> None:
        where = self.path.parent
        if self._db.execute("PRAGMA user_version").fetchone()[0] != _FORMAT:
            raise ConfigError(f"{where} holds an unfinished run of another streamer "
                              "version; use --restart to discard it, or another --out")
        if stored.get("fingerprint") != fingerprint:
            raise ConfigError(f"{where} holds an unfinished run of a different file; "
                              "use --restart to discard it, or another --out")
        if stored.get("settings") != settings_key:
            raise ConfigError(f"{where} holds an unfinished run with other settings; "
                              "run it with the same options, use --restart to discard it, "
                              "or another --out")

    @classmethod
    def _fresh(cls, path: Path, fingerprint: str, settings_key: str) -> Journal:
        for stale in _files(path):
            stale.unlink(missing_ok=True)
        journal = cls(path)
        journal._db.execute(f"PRAGMA user_version = {_FORMAT}")
        with journal._transaction():
            journal._db.executemany("INSERT INTO meta VALUES (?, ?)",
                                    zip(_KEYS, (fingerprint, settings_key), strict=True))
        return journal

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One atomic, durable step. The connection is in autocommit mode (so reads never
        hold a transaction open), which makes ``with connection:`` a no-op: begin here."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite may have rolled back already (a full disk does that): the error that
            # got us here is the one to tell, not a ROLLBACK's "no transaction".
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    @sqlite_io
    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @sqlite_io
    def put(self, key: str, value: str) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @sqlite_io
    def close(self) -> None:
        self._db.close()

    @sqlite_io
    def remove(self) -> None:
        """Close and delete: a finished run keeps no copy of the contacts it sent."""
        self.close()
        for path in _files(self.path):
            path.unlink(missing_ok=True)

    # -- outcomes -----------------------------------------------------------------------

    @sqlite_io
    def record_outcomes(self, outcomes: list[Outcome]) -> None:
        """Remember decided outcomes; rejected and failed rows keep their fields.

        A row that was waiting for read-back stops waiting in the same transaction, so
        no row is ever both decided and waiting, whenever the process dies.
        """
        # Most rows were simply accepted or uploaded: binding their four values, not
        # eight, halves what SQLite's insert costs the main process.
        plain: list[tuple[int, str, str, str]] = []
        full: list[tuple[object, ...]] = []
        sent: list[tuple[int]] = []
        uploaded, failed = OutcomeKind.UPLOADED, OutcomeKind.FAILED
        for o in outcomes:
            if o.reason is None and not o.fields and not o.detail:
                plain.append((o.record, o.outcome.value, o.external_id, o.country))
            else:
                full.append((o.record, o.outcome.value, o.reason, o.duplicate_of,
                             o.external_id,
                             FIELD_SEPARATOR.join(o.fields) if o.fields else None, o.detail,
                             o.country))
            if o.outcome is uploaded or o.outcome is failed:  # (an Enum's hash is slow)
                sent.append((o.record,))
        with self._transaction():
            inserted = self._db.executemany(
                "INSERT OR IGNORE INTO outcomes (record, outcome, external_id, country) "
                "VALUES (?, ?, ?, ?)", plain).rowcount
            inserted += self._db.executemany(
                f"INSERT OR IGNORE INTO outcomes ({_OUTCOME_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", full).rowcount
            self._db.executemany("DELETE FROM sent WHERE record = ?", sent)
        self.repeated += len(outcomes) - inserted

    @sqlite_io
    def resume_filter(self) -> Callable[[RowBatch], RowBatch]:
        """The resume filter: drops the rows an earlier run already decided or handed to
        CXone (:meth:`settled` as it stands now); a fresh run's passes batches untouched."""
        settled = self.settled()
        if not settled:
            return _unchanged
        size = len(settled)
        return lambda batch: [row for row in batch
                              if row.record > size or not settled[row.record - 1]]

    @sqlite_io
    def settled(self) -> bytearray:
        """One byte per record: 1 where the row needs nothing more (decided, or sent)."""
        marks = bytearray()
        for table in ("outcomes", "sent"):
            for (record,) in self._db.execute(f"SELECT record FROM {table}"):
                if record > len(marks):
                    marks.extend(bytes(max(record - len(marks), len(marks))))
                marks[record - 1] = 1
        return marks

    @sqlite_io
    def counts(self) -> Counts:
        """The outcomes counted, in one pass over the table."""
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
        return Counts(by_kind, by_reason, sum(by_kind.values()), samples)

    @sqlite_io_pages
    def outcome_lines(self, chunk: int = 10_000) -> Iterator[str]:
        """outcomes.csv's lines (CRLF after each), in record order: record, outcome,
        reason, duplicate_of and external_id, made safe for a spreadsheet (the only cell
        that is the user's text).

        SQLite makes each line; only ids that need neutralising or quoting are handed
        to Python: a million lines in under a second.
        """
        cursor = self._db.execute(
            "SELECT record || ',' || outcome || ',' || coalesce(reason, '') || ',' || "
            "coalesce(duplicate_of, '') || ',' || "
            f"CASE WHEN substr(external_id, 1, 1) IN ({_FORMULA_START_LITERALS}) "
            f"OR {_NEEDS_QUOTES} THEN outcome_cell(external_id) ELSE external_id END "
            "FROM outcomes ORDER BY record")
        while rows := cursor.fetchmany(chunk):
            yield "\r\n".join([line for (line,) in rows]) + "\r\n"

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
