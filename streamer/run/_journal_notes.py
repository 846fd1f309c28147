"""The journal's part for notes: what was done to kept rows' fields (a secondary number
left out, a time zone filled; :class:`~streamer.notes.Note`), kept in their ``detail``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from streamer.run._local_io import sqlite_io, sqlite_io_pages


class NotesJournal:
    """The notes' queries; a part of :class:`~streamer.run.Journal`."""

    path: Path
    _db: sqlite3.Connection

    @sqlite_io
    def kept_notes(self) -> list[tuple[str, int]]:
        """The notes of the rows kept (uploaded or accepted), each distinct one with how
        many rows have it: what was done to their fields (:class:`~streamer.notes.Note`)."""
        return self._db.execute(
            "SELECT detail, count(*) FROM outcomes WHERE detail != '' AND outcome IN "
            "('uploaded', 'accepted') GROUP BY detail").fetchall()

    @sqlite_io_pages
    def noted_rows(self, chunk: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows kept with notes, in record order: record, outcome, external id, notes."""
        cursor = self._db.execute(
            "SELECT record, outcome, external_id, detail FROM outcomes WHERE detail != '' "
            "AND outcome IN ('uploaded', 'accepted') ORDER BY record")
        while rows := cursor.fetchmany(chunk):
            yield rows
