"""Dedup as a row stage: one index that sees every batch of the file, in order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from streamer.cleaning.dedup._index import ContactIndex
from streamer.records import Row, RowBatch
from streamer.settings import FuzzySettings
from streamer.upload_format import upload_line


@dataclass(frozen=True, slots=True)
class DedupRules:
    """What to match on: picklable, so a worker process can keep the index itself."""

    fuzzy: FuzzySettings | None = None
    by_external_id: bool = False
    #: Where each row's secondary numbers sit in ``row.extra``, with their fields' names:
    #: every number a record dials is one of its contact's keys.
    other_phones: tuple[tuple[int, str], ...] = ()
    #: About how many rows will be checked (0: unknown), so the index is made its final
    #: size at once instead of rebuilt each time it doubles.
    expected_rows: int = 0

    def __reduce__(self) -> tuple[type[DedupRules], tuple[object, ...]]:
        # Compiled by mypyc, its class is rebuilt in the worker from its fields alone.
        return DedupRules, tuple(getattr(self, field.name)
                                 for field in dataclasses.fields(self))

    @property
    def whole_file(self) -> bool:
        """The first record of a contact is the one kept: the index must see them all."""
        return True

    def start(self) -> Callable[[RowBatch], RowBatch]:
        """A fresh index's batch check; it must see every batch, in file order."""
        dedup = Dedup(fuzzy=self.fuzzy, expected_rows=self.expected_rows,
                      other_phones=self.other_phones)
        return partial(dedup.check_batch, by_external_id=self.by_external_id)


class Dedup:
    """Exact matches on E.164 phone (every number a record dials), normalised email and
    (when given) external id, then fuzzy ones.

    Only rows that passed every check are indexed, so ``duplicate_of`` always names a
    record that was itself accepted. A duplicate's exact keys lead to the record it
    duplicates: a later record with a duplicate's number, email or id is a duplicate of
    the kept record, never of the duplicate (chains end where they start).
    """

    def __init__(self, *, fuzzy: FuzzySettings | None = None, expected_rows: int = 0,
                 other_phones: tuple[tuple[int, str], ...] = ()) -> None:
        self._index = ContactIndex(fuzzy, exact=True, expected_rows=expected_rows)
        self._other_phones = other_phones

    def __len__(self) -> int:
        """Contacts kept."""
        return len(self._index)

    def nbytes(self) -> int:
        """Bytes held by the index, every array and table at its allocated size."""
        return self._index.nbytes()

    def check(self, row: Row, *, by_external_id: bool) -> None:
        """Mark ``row`` duplicate of an earlier record, or remember it as kept."""
        self.check_batch([row], by_external_id=by_external_id)

    def check_batch(self, batch: RowBatch, *, by_external_id: bool) -> RowBatch:
        other_phones = self._other_phones
        self._index.check(batch, by_external_id, other_phones=other_phones)
        if other_phones:
            for row in batch:
                if row.upload is None and row.reason is None:
                    upload_line(row)  # again: a number already dialled was left out
        return batch
