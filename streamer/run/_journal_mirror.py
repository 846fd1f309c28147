"""The journal's part for ``--mirror``: the plan of what to remove from the list, and each
removal's answer, each written before the run relies on it (the ids read from the list
go through the journal's ``listed`` table, as read-back's do).

A record to remove goes ``planned`` → ``sending`` (written before its request) → ``done``
with CXone's word when it answered ``removed``; any other answer (``failed``, or none for
that id) leaves it in ``check``, since a failure may be the echo of an earlier try that
did the work. ``check`` records, and ``sending`` ones a resumed run finds (killed while
their request was out), are settled by reading the list: a record no longer there was
removed; a ``sending`` one still there is sent again, a ``check`` one failed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from streamer.csv_text import FORMULA_STARTS, neutralize
from streamer.run._local_io import sqlite_io, sqlite_io_pages

MIRROR_SCHEMA = """
CREATE TABLE IF NOT EXISTS mirror (
    external_id TEXT PRIMARY KEY,
    state       TEXT NOT NULL DEFAULT 'planned',
    result      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
"""
#: The ``result`` of a planned record in removed.csv: a dry run's, or a refused mirror's.
WOULD_REMOVE = "would_remove"
_UNCERTAIN = "state IN ('sending', 'check')"
#: Outcomes hold an external id as read or as uploaded (made safe for spreadsheets); the
#: list holds it as uploaded. Only ids a spreadsheet would run need the Python call.
_AS_UPLOADED = ("CASE WHEN substr(external_id, 1, 1) IN ("
                + ", ".join(f"char({ord(c)})" for c in sorted(FORMULA_STARTS))
                + ") THEN neutralize(external_id) ELSE external_id END")


class MirrorJournal:
    """The mirror's tables and queries; a part of :class:`~streamer.run.Journal`."""

    path: Path
    _db: sqlite3.Connection

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError  # the journal's own

    def _kept_ids(self, outcome: str) -> Iterator[str]:
        raise NotImplementedError  # the journal's own

    @sqlite_io
    def mirror_planned(self) -> bool:
        """Whether a mirror's plan is made (the list read, what to remove decided)."""
        return self._db.execute(
            "SELECT 1 FROM meta WHERE key = 'mirror_list_size'").fetchone() is not None

    @sqlite_io
    def plan_mirror(self, keep: str) -> None:
        """From the ids read back from the list: remember how many it held, and plan the
        removal of each that no row with outcome ``keep`` has; forget the ids read.

        Most kept rows have no entry in the journal, only their line in outcomes.csv
        (complete by now): their ids come from there, into a table of this connection."""
        self._db.create_function("neutralize", 1, neutralize, deterministic=True)
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (external_id TEXT NOT NULL)")
        with self._transaction():
            self._db.execute("DELETE FROM kept")
            self._db.executemany("INSERT INTO kept VALUES (?)",
                                 ((i,) for i in self._kept_ids(keep)))
            self._db.execute(
                "INSERT OR IGNORE INTO mirror (external_id) SELECT external_id FROM listed "
                "WHERE external_id NOT IN (SELECT external_id FROM kept UNION "
                f"SELECT {_AS_UPLOADED} FROM outcomes WHERE outcome = ?) "
                "GROUP BY external_id ORDER BY min(rowid)", (keep,))
            self._db.execute(
                "INSERT OR REPLACE INTO meta SELECT 'mirror_list_size', "
                "count(DISTINCT external_id) FROM listed")
            self._forget_listed()

    def _forget_listed(self) -> None:
        self._db.execute("DELETE FROM listed")
        self._db.execute("DELETE FROM meta WHERE key = 'read_back_from'")

    @sqlite_io
    def mirror_counts(self) -> tuple[int, dict[str, int]]:
        """The list's size when planned, and the planned records by state (``done`` ones
        by result: ``removed``, ``failed``)."""
        size = self._db.execute(
            "SELECT value FROM meta WHERE key = 'mirror_list_size'").fetchone()
        counts = dict(self._db.execute(
            "SELECT CASE state WHEN 'done' THEN result ELSE state END, count(*) FROM mirror "
            "GROUP BY 1").fetchall())
        return int(size[0]) if size else 0, counts

    @sqlite_io_pages
    def mirror_pending(self, chunk: int) -> Iterator[list[str]]:
        """Planned records not yet sent, ``chunk`` at a time, in the list's order. A fresh
        query per page: the caller marks each page sent before asking for the next."""
        after = 0
        while page := self._db.execute(
            "SELECT rowid, external_id FROM mirror WHERE state = 'planned' AND rowid > ? "
            "ORDER BY rowid LIMIT ?", (after, chunk)).fetchall():
            yield [external_id for _, external_id in page]
            after = page[-1][0]

    @sqlite_io
    def mark_removing(self, external_ids: list[str]) -> None:
        """Records whose removal is about to be asked: once this returns, a kill cannot
        lose track of them."""
        with self._transaction():
            self._db.executemany("UPDATE mirror SET state = 'sending' WHERE external_id = ?",
                                 ((i,) for i in external_ids))

    @sqlite_io
    def record_removals(self, answers: Iterable[tuple[str, str, str, str]]) -> None:
        """Each record's answer: (external id, state, result, detail)."""
        with self._transaction():
            self._db.executemany(
                "UPDATE mirror SET state = ?, result = ?, detail = ? WHERE external_id = ?",
                ((state, result, detail, i) for i, state, result, detail in answers))

    @sqlite_io
    def uncertain_removals(self) -> int:
        """Records whose removal only the list can settle (``sending``, ``check``)."""
        return int(self._db.execute(
            f"SELECT count(*) FROM mirror WHERE {_UNCERTAIN}").fetchone()[0])

    @sqlite_io
    def settle_removals(self, gone: str) -> None:
        """Against the ids just read back: uncertain records the list no longer holds were
        removed (``gone`` says how we know); ``sending`` ones it holds are planned again,
        ``check`` ones keep the failure they were answered. Forgets the ids read."""
        with self._transaction():
            self._db.execute(
                "UPDATE mirror SET state = 'done', result = 'removed', detail = ? WHERE "
                f"{_UNCERTAIN} AND external_id NOT IN (SELECT external_id FROM listed)",
                (gone,))
            self._db.execute("UPDATE mirror SET state = 'planned' WHERE state = 'sending'")
            self._db.execute("UPDATE mirror SET state = 'done' WHERE state = 'check'")
            self._forget_listed()

    @sqlite_io_pages
    def removals(self, chunk: int = 10_000) -> Iterator[list[tuple[str, str, str]]]:
        """removed.csv's rows in the list's order: external id, result, detail (a record
        never sent is ``would_remove``)."""
        cursor = self._db.execute(
            f"SELECT external_id, CASE state WHEN 'done' THEN result ELSE '{WOULD_REMOVE}' "
            "END, detail FROM mirror ORDER BY rowid")
        while rows := cursor.fetchmany(chunk):
            yield rows
