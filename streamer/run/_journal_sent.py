"""The journal's part for rows handed to CXone: each written before its upload starts, so
a resumed run checks the list for it before sending anything again; and the ids read
back from the list, until they are matched with those rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from streamer.csv_text import neutralize
from streamer.records import Outcome, OutcomeKind, Row
from streamer.run._local_io import sqlite_io, sqlite_io_pages
from streamer.upload_format import upload_line

SENT_SCHEMA = """
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
#: A row's fields in one TEXT column, joined by NUL: the reader drops NUL bytes from
#: every file, so no field holds one, and a join is ten times faster than JSON.
FIELD_SEPARATOR = "\x00"


class SentJournal:
    """The sent rows' table and queries; a part of :class:`~streamer.run.Journal`."""

    path: Path
    _db: sqlite3.Connection

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError  # the journal's own

    def get(self, key: str) -> str | None:
        raise NotImplementedError  # the journal's own

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
                  FIELD_SEPARATOR.join(r.fields), r.country or r.region) for r in rows],
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
                row = Row(record, fields.split(FIELD_SEPARATOR))
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
