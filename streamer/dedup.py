"""Duplicate detection: the first record of each contact is kept, later ones point to it.

Exact first (the same E.164 number, the same email, the same external id), then, with
``--dedup fuzzy``, the typos people make (:mod:`streamer.fuzzy`): a mistyped email or a
number one digit off, only ever when the names agree.
"""

from __future__ import annotations

import hashlib
import sys

from streamer.fuzzy import FuzzyIndex, FuzzySettings
from streamer.records import ReasonCode, Row, RowBatch

DEDUP_MODES = ("off", "exact", "fuzzy")


def _key(text: str) -> int:
    """A 64-bit key: an int costs far less memory per entry than the string it stands for."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class Dedup:
    """Exact matches on E.164 phone, normalised email and (when given) external id, then
    fuzzy ones.

    Only rows that passed every check are indexed, so ``duplicate_of`` always names a
    record that was itself accepted. A duplicate's own keys are not indexed: each
    duplicate points straight at a kept record, never along a chain.
    """

    def __init__(self, *, fuzzy: FuzzySettings | None = None) -> None:
        self._phones: dict[int, int] = {}
        self._emails: dict[int, int] = {}
        self._external_ids: dict[int, int] = {}
        self._fuzzy = FuzzyIndex(fuzzy) if fuzzy is not None else None

    def __len__(self) -> int:
        return len(self._phones)

    def nbytes(self) -> int:
        """Approximate bytes held by the indexes (for benchmarks): the dicts, the int
        objects they hold beyond CPython's small-int cache, and the fuzzy index."""
        dicts = (self._phones, self._emails, self._external_ids)
        held = sum(sys.getsizeof(d) + 2 * 32 * len(d) for d in dicts)
        return held + (self._fuzzy.nbytes() if self._fuzzy is not None else 0)

    def check(self, row: Row, *, by_external_id: bool) -> None:
        """Mark ``row`` duplicate of an earlier record, or remember it as kept."""
        phone_key = int(row.phone[1:])  # E.164 digits fit in 64 bits
        email_key = _key(row.email) if row.email else None
        id_key = _key(row.external_id) if by_external_id else None
        for index, key, reason in (
            (self._phones, phone_key, ReasonCode.SAME_PHONE),
            (self._emails, email_key, ReasonCode.SAME_EMAIL),
            (self._external_ids, id_key, ReasonCode.SAME_EXTERNAL_ID),
        ):
            if key is not None and (kept := index.get(key)) is not None:
                row.reason, row.duplicate_of = reason, kept
                return
        fuzzy = self._fuzzy
        if fuzzy is not None:
            found = fuzzy.match(row.record, row.phone, row.email, row.first_name, row.last_name)
            if found is not None:
                row.reason, row.duplicate_of = ReasonCode(found[0]), found[1]
                return
            fuzzy.add(row.record, row.phone, row.email, row.first_name, row.last_name)
        self._phones[phone_key] = row.record
        if email_key is not None:
            self._emails[email_key] = row.record
        if id_key is not None:
            self._external_ids[id_key] = row.record

    def check_batch(self, batch: RowBatch, *, by_external_id: bool) -> RowBatch:
        for row in batch:
            if row.reason is None:
                self.check(row, by_external_id=by_external_id)
        return batch
