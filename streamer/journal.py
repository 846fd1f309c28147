"""The run's journal: a SQLite file in the output directory holding what was sent.

Rows that CXone accepted wait here, on disk rather than in memory, until read-back
reconciliation confirms them in the list; the rows to re-send come back from here too.
It holds the uploaded fields (personal data, like the list itself) and never a secret.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from streamer.records import Row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    record      INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL,
    external_id TEXT NOT NULL,
    phone       TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    fields      TEXT NOT NULL,
    listed      INTEGER NOT NULL DEFAULT 0,
    resent      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sent_by_external_id ON sent (external_id);
CREATE TABLE IF NOT EXISTS listed (external_id TEXT PRIMARY KEY) WITHOUT ROWID;
"""


class Journal:
    """What was sent where; the one place that knows the SQLite schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def fresh(cls, path: Path) -> Journal:
        """A journal with nothing in it (the previous run's, if any, is removed)."""
        cls(path).remove()
        return cls(path)

    def close(self) -> None:
        self._db.close()

    def remove(self) -> None:
        """Close and delete: a finished run keeps no copy of the contacts it sent."""
        self.close()
        for path in (self.path, self.path.with_name(self.path.name + "-wal"),
                     self.path.with_name(self.path.name + "-shm")):
            path.unlink(missing_ok=True)

    def record_sent(self, batch_id: int, rows: list[Row]) -> None:
        """Rows whose upload job CXone reported complete (or could not confirm)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO sent (record, batch_id, external_id, phone, first_name,"
                " last_name, fields) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.record, batch_id, r.external_id, r.phone, r.first_name, r.last_name,
                  json.dumps(r.fields, ensure_ascii=False)) for r in rows],
            )

    def sent_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM sent").fetchone()[0])

    def forget_listed(self) -> None:
        with self._db:
            self._db.execute("DELETE FROM listed")

    def add_listed(self, external_ids: Iterable[str]) -> None:
        """External ids read back from the list."""
        with self._db:
            self._db.executemany("INSERT OR IGNORE INTO listed VALUES (?)",
                                 ((i,) for i in external_ids))

    def mark_listed(self) -> int:
        """Flag every sent row found in the list; returns how many are still missing."""
        with self._db:
            self._db.execute(
                "UPDATE sent SET listed = 1 WHERE listed = 0 AND external_id IN "
                "(SELECT external_id FROM listed)")
        return int(self._db.execute("SELECT count(*) FROM sent WHERE listed = 0").fetchone()[0])

    def missing(self, chunk: int) -> Iterator[list[Row]]:
        """Sent rows not found in the list, as rows ready to upload again."""
        yield from self._rows("WHERE listed = 0", chunk)

    def mark_resent(self, records: Iterable[int]) -> None:
        with self._db:
            self._db.executemany("UPDATE sent SET resent = 1 WHERE record = ?",
                                 ((r,) for r in records))

    def resent_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM sent WHERE resent = 1").fetchone()[0])

    def listed_rows(self, chunk: int) -> Iterator[list[Row]]:
        yield from self._rows("WHERE listed = 1", chunk)

    def _rows(self, where: str, chunk: int) -> Iterator[list[Row]]:
        # Keyset paging, a fresh query per chunk: the caller may write between chunks,
        # which an open SQLite cursor over the same table does not tolerate.
        after = 0
        while batch := self._db.execute(
            "SELECT record, external_id, phone, first_name, last_name, fields FROM sent "
            f"{where} AND record > ? ORDER BY record LIMIT ?", (after, chunk)
        ).fetchall():
            rows = []
            for record, external_id, phone, first_name, last_name, fields in batch:
                row = Row(record, json.loads(fields))
                row.external_id, row.phone = external_id, phone
                row.first_name, row.last_name = first_name, last_name
                rows.append(row)
            after = rows[-1].record
            yield rows
