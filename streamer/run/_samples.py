"""The few records a report shows: where each reason's first record sits in the file, and
the first duplicate pairs, their personal data masked as the audit masks it.

The run keeps none of this while it streams (nothing per row is held): the journal names
the records, and the source finds them in the file at the end (:data:`Locate`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from streamer.errors import InputError
from streamer.records import RecordPlace
from streamer.run._audit import mask_email, mask_name, mask_phone
from streamer.run._journal import Journal

#: The source's lookup: records by number to where they sit and whose they are.
Locate = Callable[[Collection[int]], Awaitable[dict[int, RecordPlace]]]
#: Enough pairs to show what the rules did; more would be a list to audit, not a summary.
DUPLICATE_EXAMPLES = 5


def _masked(place: RecordPlace | None) -> dict[str, Any]:
    if place is None:  # not found again (the file changed since): say nothing of it
        return {"sheet_row": None, "phone": "", "email": "", "name": ""}
    return {"sheet_row": place.sheet_row, "phone": mask_phone(place.phone),
            "email": mask_email(place.email) if place.email else "",
            "name": mask_name(place.name)}


async def sampled_records(journal: Journal, reason_samples: dict[str, int],
                          locate: Locate | None) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Each reason's first record's spreadsheet row, and the first duplicate pairs:
    ``{"record", "duplicate_of", "reason", "duplicate": {...}, "kept": {...}}``, each side
    with its ``sheet_row`` and masked ``phone``, ``email`` and ``name``."""
    pairs = journal.duplicate_pairs(DUPLICATE_EXAMPLES)
    if locate is None:
        return {}, []
    wanted = {*reason_samples.values(), *(r for pair in pairs for r in pair[:2])}
    try:
        places = await locate(wanted)
    except InputError:  # the file went or changed since it was read: the counts stand
        places = {}
    rows = {reason: places[record].sheet_row for reason, record in reason_samples.items()
            if record in places}
    examples = [{"record": record, "duplicate_of": kept, "reason": reason,
                 "duplicate": _masked(places.get(record)), "kept": _masked(places.get(kept))}
                for record, kept, reason in pairs]
    return rows, examples
