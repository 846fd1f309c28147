"""The journal's part for the report: outcomes by country, and a few duplicate pairs to
show. Each is one query over the outcomes (and the plain rows' tally), so nothing per row
is held in memory."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from streamer.run._local_io import sqlite_io

#: The country of a row whose country neither its column nor its number told.
UNKNOWN_COUNTRY = "unknown"


class ReportJournal:
    """The report's queries; a part of :class:`~streamer.run.Journal`."""

    path: Path
    _db: sqlite3.Connection

    @sqlite_io
    def countries(self, kinds: Sequence[str]) -> dict[str, dict[str, int]]:
        """Outcomes by the rows' country (ISO code, or ``unknown``), each with every
        outcome of ``kinds`` (0 where none); countries with most rows first."""
        by_country: dict[str, dict[str, int]] = {}
        # Rows with an entry, and the plain rows' tally (they have none).
        for country, kind, count in self._db.execute(
                "SELECT country, outcome, sum(n) FROM (SELECT country, outcome, count(*) AS n "
                "FROM outcomes GROUP BY country, outcome UNION ALL SELECT country, outcome, rows "
                "FROM tally) GROUP BY country, outcome"):
            counts = by_country.setdefault(country or UNKNOWN_COUNTRY, dict.fromkeys(kinds, 0))
            counts[kind] = counts.get(kind, 0) + count
        return dict(sorted(by_country.items(), key=lambda item: (-sum(item[1].values()),
                                                                 item[0])))

    @sqlite_io
    def duplicate_pairs(self, limit: int) -> list[tuple[int, int, str]]:
        """The first ``limit`` duplicates: (record, duplicate of which record, reason)."""
        return self._db.execute(
            "SELECT record, duplicate_of, reason FROM outcomes WHERE outcome = 'duplicate' "
            "ORDER BY record LIMIT ?", (limit,)).fetchall()
