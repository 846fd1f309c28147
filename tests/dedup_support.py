"""For the dedup rules' tests: a fuzzy-only view of the index, one contact at a time, and
the rules on two whole addresses or numbers, composed of the very functions the index
calls."""

from __future__ import annotations

from streamer.cleaning.dedup import ContactIndex
from streamer.cleaning.dedup._rules import (
    allowed_edits,
    close_numbers,
    edit_distance,
    one_address_mistyped,
)
from streamer.records import Row
from streamer.settings import FuzzySettings

_DEFAULTS = FuzzySettings()


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


def mistyped_email(email: str, kept: str, pieces: frozenset[str],
                   settings: FuzzySettings = _DEFAULTS, *,
                   max_edits: int | None = None) -> bool:
    """Whether two addresses of one name (its ``name_pieces``) are one address, mistyped.

    ``max_edits`` replaces the budget that grows with length, for when something else
    (the number) corroborates. Ambiguity is the index's to judge: it needs the others.
    """
    local, _, domain = email.rpartition("@")
    kept_local, _, kept_domain = kept.rpartition("@")
    if domain != kept_domain:
        return False
    allowed = (allowed_edits(local, kept_local, settings, pieces=pieces) if max_edits is None
               else max_edits)
    return one_address_mistyped(local, kept_local, edit_distance(local, kept_local, allowed),
                                allowed, pieces)


def similar_phones(
    first: str, second: str, settings: FuzzySettings = _DEFAULTS
) -> bool:
    """Whether two numbers are close enough for ``similar_phone_same_name``."""
    return close_numbers(first, second, settings.max_phone_digit_differences)
