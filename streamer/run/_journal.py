"""The run's journal: a SQLite file (WAL) in the output directory; what makes a run resumable.

It holds every outcome decided so far (most as a line of outcomes.csv, which it keeps in
step: see :mod:`streamer.run._journal_outcomes`) and every row handed to CXone, each
written in a transaction before the run relies on it, so a crash or kill at any moment
leaves it consistent. A re-run of the same command over the same file with the same
settings resumes from it: settled rows are not sent again, rows whose upload may or may
not have reached CXone are checked by reading the list back, outcomes.csv goes on from
where the journal says it got to, and the other output files are written from it once
every row has its outcome. It holds the uploaded fields and the fields of rejected and
failed rows (personal data, like the list itself), never a secret, and is deleted when a
run ends complete.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamer.errors import ConfigError
from streamer.run._journal_mirror import MIRROR_SCHEMA, MirrorJournal
from streamer.run._journal_notes import NotesJournal
from streamer.run._journal_outcomes import OUTCOMES_SCHEMA, OutcomesJournal
from streamer.run._journal_report import ReportJournal
from streamer.run._journal_sent import SENT_SCHEMA, SentJournal
from streamer.run._local_io import journaling, sqlite_io
from streamer.run._outcome_file import OutcomeFile, outcome_cell
from streamer.run._outcome_order import Item

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""
_KEYS = ("fingerprint", "settings")
#: SQLite's user_version for this layout; an unfinished run in another is not resumed.
#: 6: plain outcomes kept as outcomes.csv's length, not a row each.
_FORMAT = 6


def _files(path: Path) -> tuple[Path, Path, Path]:
    return path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


class Journal(OutcomesJournal, SentJournal, MirrorJournal, NotesJournal, ReportJournal):
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
                # Another version's journal is refused as it is (_check_resumable).
                if self._db.execute("PRAGMA user_version").fetchone()[0] in (0, _FORMAT):
                    self._db.executescript(_SCHEMA + OUTCOMES_SCHEMA + SENT_SCHEMA
                                           + MIRROR_SCHEMA)
            except BaseException:
                self._db.close()
                raise
        self._db.create_function("outcome_cell", 1, outcome_cell, deterministic=True)
        self.repeated = 0  # outcomes offered twice for one record: must stay 0
        self._lines: OutcomeFile | None = None  # outcomes.csv, opened on first use
        self._pending: list[Item] = []  # plain outcomes waiting for an earlier record
        self._written = 0

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
                journal._outcome_file()  # cut back to what was committed, or refused now
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
        journal._outcome_file()  # a stale one from an earlier run is started over
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
        if self._lines is not None:
            self._lines.close()
        self._db.close()

    @sqlite_io
    def remove(self) -> None:
        """Close and delete: a finished run keeps no copy of the contacts it sent."""
        self.close()
        for path in _files(self.path):
            path.unlink(missing_ok=True)
