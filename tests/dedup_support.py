"""A fuzzy-only view of the dedup index, one contact at a time: for the rules' tests."""

from __future__ import annotations

from streamer.cleaning.dedup import ContactIndex
from streamer.records import Row
from streamer.settings import FuzzySettings


class FuzzyIndex:
    """Kept contacts, indexed to find later records that are the same person with a typo.

    Call ``match`` for each record exact dedup did not catch, in file order, and ``add``
    those that stay kept. (A run's dedup keeps exact and fuzzy keys in one index.)
    """

    def __init__(self, settings: FuzzySettings | None = None) -> None:
        self._index = ContactIndex(settings or FuzzySettings(), exact=False)

    def __len__(self) -> int:
        return len(self._index)

    def nbytes(self) -> int:
        """Bytes held, spare capacity included."""
        return self._index.nbytes()

    def match(self, record: int, phone: str, email: str, first_name: str,
              last_name: str) -> tuple[str, int] | None:
        """If this contact fuzzily duplicates a kept one: (reason, kept record). Else None."""
        row = _row(record, phone, email, first_name, last_name)
        self._index.check((row,), False, add=False)
        if row.duplicate_of is None or row.reason is None:
            return None
        return str(row.reason), row.duplicate_of

    def add(self, record: int, phone: str, email: str, first_name: str, last_name: str) -> None:
        """Remember a kept contact (one without both names can never match: not kept)."""
        self._index.check((_row(record, phone, email, first_name, last_name),), False,
                          match=False)


def _row(record: int, phone: str, email: str, first_name: str, last_name: str) -> Row:
    row = Row(record, [])
    row.phone, row.email, row.first_name, row.last_name = phone, email, first_name, last_name
    return row
