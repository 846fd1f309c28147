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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from streamer.csv_text import FORMULA_STARTS, csv_line, neutralize
from streamer.errors import ConfigError
from streamer.records import Outcome, OutcomeKind, Row, RowBatch
from streamer.run._journal_mirror import MIRROR_SCHEMA, MirrorJournal
from streamer.run._journal_notes import NotesJournal
from streamer.run._journal_report import ReportJournal
from streamer.run._local_io import journaling, sqlite_io, sqlite_io_pages
from streamer.upload_format import upload_line

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
CREATE TABLE IF NOT EXISTS sent (
    record      INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL,
    external_id TEXT NOT NULL,
    upload      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    fields      TEXT NOT NULL,
    listed      INTEGER NOT NULL DEFAULT 0,
    resent      INTEGER NOT NULL DEFAULT 0,
    country     TEXT NOT NULL DEFAULT ''
);
-- Ids read back from the list, until mark_listed() matches them: appended in page order
-- (a key would make each insert a B-tree search; the match builds its own index once).
CREATE TABLE IF NOT EXISTS listed (external_id TEXT NOT NULL);
"""
_KEYS = ("fingerprint", "settings")
#: A row's fields in one TEXT column, joined by NUL: the reader drops NUL bytes from
#: every file, so no field holds one, and a join is ten times faster than JSON.
_FIELD_SEPARATOR = "\x00"
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


class Journal(MirrorJournal, NotesJournal, ReportJournal):
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
                self._db.executescript(_SCHEMA + MIRROR_SCHEMA)
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
                             _FIELD_SEPARATOR.join(o.fields) if o.fields else None, o.detail,
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
            yield [(*(fields.split(_FIELD_SEPARATOR) if fields is not None else ()),
                    record, reason, detail) for fields, record, reason, detail in rows]

    # -- rows handed to CXone -----------------------------------------------------------

    @sqlite_io
    def record_sending(self, batch_id: int, rows: list[Row]) -> None:
        """Rows about to be uploaded: once this returns, a crash cannot lose track of them.

        Whether their upload then reached CXone or not, a resumed run finds them here and
        checks the list for them before sending anything again. The external id is kept
        as uploaded (made safe for spreadsheets), since that is what the list gives back.
        """
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO sent (record, batch_id, external_id, upload, detail,"
                " fields, country) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.record, batch_id, neutralize(r.external_id), upload_line(r), r.detail,
                  _FIELD_SEPARATOR.join(r.fields), r.country or r.region) for r in rows],
            )

    @sqlite_io
    def forget_missing(self) -> int:
        """Drop sent rows the list does not hold, so they are sent again; how many."""
        with self._transaction():
            return self._db.execute("DELETE FROM sent WHERE listed = 0").rowcount

    @sqlite_io
    def sent_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM sent").fetchone()[0])

    @sqlite_io
    def add_listed(self, external_ids: Iterable[str], *, read_from: int) -> None:
        """External ids read back from the list, and where a read-back that stops here
        goes on from (every page before ``read_from`` is in): one transaction, so a
        resumed run never reads a page twice nor skips one."""
        with self._transaction():
            self._db.executemany("INSERT INTO listed VALUES (?)",
                                 ((i,) for i in external_ids))
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('read_back_from', ?)",
                             (str(read_from),))

    @sqlite_io
    def read_back_from(self) -> int:
        """Where an interrupted read-back of the list goes on from (0: the start)."""
        return int(self.get("read_back_from") or 0)

    @sqlite_io
    def mark_listed(self) -> int:
        """Flag every sent row found in the ids read back, and forget those ids (a later
        read-back reads the whole list again); returns how many rows are still missing."""
        with self._transaction():
            self._db.execute(
                "UPDATE sent SET listed = 1 WHERE listed = 0 AND external_id IN "
                "(SELECT external_id FROM listed)")
            self._db.execute("DELETE FROM listed")
            self._db.execute("DELETE FROM meta WHERE key = 'read_back_from'")
        return int(self._db.execute("SELECT count(*) FROM sent WHERE listed = 0").fetchone()[0])

    @sqlite_io_pages
    def missing(self, chunk: int) -> Iterator[list[Row]]:
        """Sent rows not found in the list, as rows ready to upload again."""
        for page in self._sent_pages("external_id, upload, detail, fields, country",
                                     listed=False, chunk=chunk):
            rows = []
            for record, external_id, upload, detail, fields, country in page:
                row = Row(record, fields.split(_FIELD_SEPARATOR))
                row.external_id, row.upload, row.detail = external_id, upload, detail
                row.country = country
                rows.append(row)
            yield rows

    @sqlite_io
    def mark_resent(self, records: Iterable[int]) -> None:
        with self._transaction():
            self._db.executemany("UPDATE sent SET resent = 1 WHERE record = ?",
                                 ((r,) for r in records))

    @sqlite_io_pages
    def listed_outcomes(self, chunk: int) -> Iterator[list[Outcome]]:
        """Sent rows found in the list, as ``uploaded`` outcomes."""
        for page in self._sent_pages("external_id, detail, country", listed=True,
                                     chunk=chunk):
            yield [Outcome(record, OutcomeKind.UPLOADED, None, None, external_id, (), detail,
                           country) for record, external_id, detail, country in page]

    def _sent_pages(self, columns: str, *, listed: bool, chunk: int) -> Iterator[list[Any]]:
        """Sent rows found (or not) in the list: ``record`` then ``columns``, in record order.

        Keyset paging, a fresh query per page: the caller may write between pages, which
        an open SQLite cursor over the same table does not tolerate.
        """
        after = 0
        while page := self._db.execute(
            f"SELECT record, {columns} FROM sent WHERE listed = ? AND record > ? "
            "ORDER BY record LIMIT ?", (int(listed), after, chunk)
        ).fetchall():
            yield page
            after = page[-1][0]
