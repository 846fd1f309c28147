"""Putting outcomes decided out of turn back in record order, for outcomes.csv.

Each outcome becomes an item, ``(record, source, line, outcome)``: plain ones (no entry
of their own in the journal, ``source`` 1) made here from the outcome, entries read back
from the journal (``source`` 0, no outcome). Sorted, the items from the first record not
yet written on are taken while each is the next record: a tuple sort and a few list
operations, not Python code per row, since every row of the file passes here.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from typing import NamedTuple

from streamer.csv_text import FORMULA_STARTS
from streamer.records import Outcome, OutcomeKind
from streamer.run._outcome_file import id_cell

#: (record, source, line, the outcome: a plain one's, for its tally, or ``None``).
Item = tuple[int, int, str, Outcome | None]
ENTRY, PLAIN = 0, 1  # an entry sorts before a plain item of the same record: it stands
#: Any id in a NUL-joined run that :func:`id_cell` would change (NUL is never in a field:
#: the reader drops it), so a batch of plain ids is checked in one search.
_ANY_NEEDS_CELL = re.compile(
    "(?:^|\x00)[" + re.escape("".join(sorted(FORMULA_STARTS))) + ']|[,"\r\n]')


_VALUES = {kind: kind.value for kind in OutcomeKind}


def plain_items(plain: list[Outcome]) -> list[Item]:
    """The items of plain outcomes (no reason, fields nor notes): their line made here."""
    if not plain:
        return []
    ids = [o.external_id for o in plain]
    if _ANY_NEEDS_CELL.search("\x00".join(ids)):
        ids = [id_cell(i) for i in ids]
    values = _VALUES  # formatting an OutcomeKind takes longer than this look-up
    return [(o.record, PLAIN, f"{o.record},{values[o.outcome]},,,{cell}\r\n", o)
            for o, cell in zip(plain, ids, strict=True)]


class Run(NamedTuple):
    """The lines of the records ``first`` to ``next - 1``, taken from sorted items."""

    lines: list[str]
    next: int
    taken: int  # how many items (from the start) are used up: written, or repeats
    repeated: int  # of those, second outcomes for one record (not written)
    tally: Counter[tuple[str, str]]  # plain rows written, by (outcome, country)


def take_run(items: list[Item], first: int) -> Run:
    """From ``items`` (sorted), the lines of the records ``first``, ``first + 1``, ... as
    long as each is there; an item for a record already taken is a repeat."""
    records = [item[0] for item in items]
    # Distinct and sorted, record - index never falls, and is ``first`` as long as the
    # records run on: find where that ends, then check it (a repeat breaks the rule).
    cut = bisect_left(range(len(records)), first + 1, key=lambda at: records[at] - at)
    if records[:cut] == list(range(first, first + cut)) and (
            cut == len(records) or records[cut] >= first + cut):
        run = items[:cut]
        return Run([line for _, _, line, _ in run], first + cut, cut, 0,
                   Counter([(o.outcome, o.country) for _, _, _, o in run if o is not None]))
    return _take_run_slowly(items, first)


def _take_run_slowly(items: list[Item], first: int) -> Run:
    """:func:`take_run` one item at a time, counting repeats."""
    lines: list[str] = []
    plain: list[tuple[str, str]] = []
    expected, repeated, taken = first, 0, len(items)
    for at, (record, _, line, outcome) in enumerate(items):
        if record == expected:
            lines.append(line)
            if outcome is not None:
                plain.append((outcome.outcome, outcome.country))
            expected += 1
        elif record < expected:
            repeated += 1
        else:
            taken = at
            break
    return Run(lines, expected, taken, repeated, Counter(plain))
