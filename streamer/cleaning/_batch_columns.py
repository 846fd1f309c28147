"""A batch as a few compact columns: the shape it crosses between processes in.

Pickled row by row, a batch costs a tuple or list per row and an opcode, a memo entry and
an object per value, both ways; as columns it is a handful of objects per batch, and
``str.join`` / ``str.split`` do the per-value work in C:

- out (:func:`pack_rows`, :func:`unpack_rows`): the records as the first one when they run
  on (the usual case) or an array; every row's fields joined into one string by
  :data:`SEPARATOR`, with each row's number of fields (one number when all rows have as
  many);
- back (:func:`pack_results`, :func:`apply_results`): one column per result the stages
  set (:data:`RESULTS`), ``None`` when it holds only the value a row starts with (the
  usual case for a reason, a note, a duplicate); text joined like the fields; region
  codes as each distinct one and a byte per row; values that may be missing (an upload
  line, the extra fields) with a blank in their place and the positions of the missing.

NUL separates because the CSV reader drops every NUL from the file (the journal's
``_FIELD_SEPARATOR`` relies on that too), so no field holds one. Should a value hold one
anyway (a workbook's cell, a library caller's rows), its joined text would not split back
into as many values: the packer counts the separators and sends that column as a list.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import attrgetter
from typing import TypeAlias, TypeVar, cast

from streamer.records import Row, RowBatch

SEPARATOR = "\x00"

_T = TypeVar("_T")

#: Strings joined by :data:`SEPARATOR`; or, when one holds a separator, the list itself.
Texts: TypeAlias = "str | list[str]"
#: Strings that repeat: each distinct one and, per value, the index of its own; or
#: :data:`Texts` when there are too many distinct ones for a byte.
Codes: TypeAlias = "tuple[list[str], bytes] | Texts"
#: Lists of strings: each one's length (one number when all are alike) and their values
#: joined; or, when a value holds a separator, the lists themselves.
Lists: TypeAlias = "tuple[int | array[int], str] | list[list[str]]"
#: A batch on its way to a worker: how many rows, their records (the first, when they run
#: on; else each one), their fields.
PackedRows: TypeAlias = "tuple[int, int | array[int], Lists]"
#: The stages' results, one column per name of :data:`RESULTS`, in its order.
PackedResults: TypeAlias = tuple[object, ...]

#: What the stages may set on a row, in the order they travel, with the value a row
#: starts with.
RESULTS: tuple[tuple[str, object], ...] = (
    ("reason", None), ("detail", ""), ("phone", ""), ("region", ""), ("email", ""),
    ("first_name", ""), ("last_name", ""), ("country", ""), ("external_id", ""),
    ("upload", None), ("duplicate_of", None), ("extra", None))
_TEXTS = frozenset({"detail", "phone", "email", "first_name", "last_name", "external_id"})
#: Region codes: a handful of values in a batch, sent once each with a byte per row.
_CODES = frozenset({"region", "country"})
#: A row's results as one tuple, read in C: one pass over the rows, not one per column.
_READ_RESULTS = attrgetter(*(name for name, _ in RESULTS))


def pack_rows(batch: RowBatch) -> PackedRows:
    """A batch's records and fields, for :func:`unpack_rows` in a worker."""
    records = [row.record for row in batch]
    first = records[0] if records else 0
    on = records == list(range(first, first + len(records)))
    return len(records), first if on else array("Q", records), pack_lists(
        [row.fields for row in batch])


def unpack_rows(packed: PackedRows) -> list[Row]:
    """Fresh rows, as the reader made them, from :func:`pack_rows`."""
    count, records, fields = packed
    numbers = range(records, records + count) if isinstance(records, int) else records
    return list(map(Row, numbers, unpack_lists(fields)))


def pack_results(rows: Sequence[Row]) -> PackedResults:
    """What the stages set on ``rows``, for :func:`apply_results` in the main process."""
    if not rows:
        return (None,) * len(RESULTS)
    packed: list[object] = []
    columns = zip(*map(_READ_RESULTS, rows), strict=True)
    for (name, default), values in zip(RESULTS, columns, strict=True):
        if name in _TEXTS:
            texts = pack_texts(values)
            # Only separators: every value empty, as a row starts.
            packed.append(None if len(texts) == len(values) - 1 else texts)
        elif values.count(default) == len(values):
            packed.append(None)
        elif name in _CODES:
            packed.append(pack_codes(values))
        elif name == "upload":
            lines, missing = _fill_missing(values, "")
            packed.append((pack_texts(lines), missing))
        elif name == "extra":
            present = next(value for value in values if value is not None)
            extras, missing = _fill_missing(values, [""] * len(present))
            packed.append((pack_lists(extras), missing))
        else:  # reason, duplicate_of: mostly None, and a repeated object pickles once
            packed.append(list(values))
    return tuple(packed)


def apply_results(batch: RowBatch, packed: PackedResults) -> RowBatch:
    """Set on the batch's rows what :func:`pack_results` took from the worker's copies."""
    count = len(batch)
    columns: list[Iterable[object]] = []
    for (name, default), column in zip(RESULTS, packed, strict=True):
        if column is None:
            columns.append(repeat(default, count))
        elif name in _TEXTS:
            columns.append(unpack_texts(cast(Texts, column)))
        elif name in _CODES:
            columns.append(unpack_codes(cast(Codes, column)))
        elif name == "upload":
            lines, missing = cast(tuple[Texts, "array[int] | None"], column)
            columns.append(_put_back_missing(unpack_texts(lines), missing))
        elif name == "extra":
            extras, missing = cast(tuple[Lists, "array[int] | None"], column)
            columns.append(_put_back_missing(unpack_lists(extras), missing))
        else:
            columns.append(cast(list[object], column))
    # One pass, each row's results set together (column by column, every pass would
    # fetch every row again); strict: a column one short fails, never shifts the rest.
    for (row, row.reason, row.detail, row.phone, row.region, row.email,  # noqa: B007
         row.first_name, row.last_name, row.country, row.external_id, row.upload,
         row.duplicate_of, row.extra) in zip(batch, *columns, strict=True):
        pass
    return batch


def pack_texts(values: Sequence[str]) -> Texts:
    """``values`` joined, unless one holds the separator (then as a list)."""
    joined = SEPARATOR.join(values)
    return joined if joined.count(SEPARATOR) == len(values) - 1 else list(values)


def unpack_texts(texts: Texts) -> list[str]:
    return texts.split(SEPARATOR) if isinstance(texts, str) else texts


def pack_codes(values: Sequence[str]) -> Codes:
    """Few distinct strings as each one once and a byte per value saying which."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) > 256:
        return pack_texts(values)
    number = {value: at for at, value in enumerate(distinct)}
    return distinct, bytes(map(number.__getitem__, values))


def unpack_codes(codes: Codes) -> list[str]:
    if not isinstance(codes, tuple):
        return unpack_texts(codes)
    distinct, which = codes
    return list(map(distinct.__getitem__, which))  # the same string objects, not copies


def pack_lists(lists: Sequence[Sequence[str]]) -> Lists:
    """Lists of strings as their lengths and their values joined (see :data:`Lists`)."""
    widths = list(map(len, lists))
    values = sum(widths)
    # Each list joined, then the lists: the same text, made faster than from one chain.
    joined = SEPARATOR.join(map(SEPARATOR.join, lists))
    if not values or joined.count(SEPARATOR) != values - 1:
        # A separator in a value, or an empty list (which joins to an extra ""), or no
        # values at all (which join to "", splitting to [""]): send the lists, then.
        return [list(strings) for strings in lists]
    same = widths.count(widths[0]) == len(widths)
    return widths[0] if same else array("I", widths), joined


def unpack_lists(packed: Lists) -> list[list[str]]:
    if isinstance(packed, list):
        return packed
    widths, joined = packed
    values = joined.split(SEPARATOR)
    if isinstance(widths, int):  # the values in groups of ``widths``, grouped in C
        return list(map(list, zip(*[iter(values)] * widths, strict=True)))
    lists, at = [], 0
    for width in widths:
        lists.append(values[at:at + width])
        at += width
    return lists


def _fill_missing(values: Sequence[_T | None], blank: _T
                  ) -> tuple[Sequence[_T], array[int] | None]:
    """``values`` with ``blank`` for each ``None``, and where those were (``None``: none).

    A blank as wide as the others keeps a column of lists one width, sent as one number.
    """
    if None not in values:
        return cast(Sequence[_T], values), None
    missing = array("I", [at for at, value in enumerate(values) if value is None])
    return [blank if value is None else value for value in values], missing


def _put_back_missing(values: Sequence[_T], missing: array[int] | None
                      ) -> list[_T | None]:
    """The inverse of :func:`_fill_missing` (in place)."""
    restored = cast(list[_T | None], values)
    for at in missing or ():
        restored[at] = None
    return restored
