"""A batch crosses to a worker and its results come back as columns: whatever the values,
every row gets back exactly its own, and a column lost or cut short is an error."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.cleaning._batch_columns import (
    RESULTS,
    SEPARATOR,
    apply_results,
    pack_results,
    pack_rows,
    unpack_rows,
)
from streamer.records import NamedReason, ReasonCode, Row

#: Values the reader lets through (every character but NUL), and NUL itself, which only a
#: workbook or a library caller could hand in: it must survive too, by the slow path.
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    st.sampled_from(["", " ", "\x01", "\x1e\x1f", '"', ",", "\r\n", "\t", "😀", "Zoë",
                     "\u2028", "x" * 70_000]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=5))


def _crossed(value: object) -> object:
    """``value`` as the other process gets it."""
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


@st.composite
def batches(draw: st.DrawFn) -> list[Row]:
    width = draw(st.integers(0, 6))
    fields = draw(st.lists(st.one_of(st.lists(TEXT, min_size=width, max_size=width),
                                     st.lists(TEXT, max_size=8)), max_size=40))
    first = draw(st.integers(1, 2**40))
    records = draw(st.one_of(
        st.just(list(range(first, first + len(fields)))),  # as read: one after another
        st.lists(st.integers(1, 2**63), min_size=len(fields), max_size=len(fields))))
    return [Row(record, values) for record, values in zip(records, fields, strict=True)]


@settings(max_examples=300, deadline=None)
@given(batches())
def test_rows_cross_with_their_records_and_fields_whatever_they_hold(batch: list[Row]) -> None:
    got = unpack_rows(_crossed(pack_rows(batch)))  # type: ignore[arg-type]
    assert [(row.record, row.fields) for row in got] == [
        (row.record, row.fields) for row in batch]


REASONS = st.one_of(st.none(), st.sampled_from(list(ReasonCode)),
                    st.builds(NamedReason, st.sampled_from(["missing_email", "invalid_score"])))


@st.composite
def results(draw: st.DrawFn) -> list[Row]:
    """Rows as the stages leave them; each column mostly its default, or not at all."""
    count = draw(st.integers(0, 30))
    rows = [Row(record, []) for record in range(1, count + 1)]
    extra_width = draw(st.integers(0, 4))
    values = {
        "reason": REASONS, "upload": st.one_of(st.none(), TEXT),
        "duplicate_of": st.one_of(st.none(), st.integers(1, 2**40)),
        "extra": st.one_of(st.none(), st.lists(TEXT, min_size=extra_width,
                                               max_size=extra_width),
                           st.lists(TEXT, max_size=3))}
    for name, _default in RESULTS:
        if draw(st.booleans()):  # else the whole column stays as a row starts
            for row in rows:
                setattr(row, name, draw(values.get(name, TEXT)))
    return rows


def _results(row: Row) -> tuple[object, ...]:
    return tuple((getattr(row, name), type(getattr(row, name))) for name, _ in RESULTS)


@settings(max_examples=300, deadline=None)
@given(results())
def test_each_row_gets_back_exactly_its_own_results(worked: list[Row]) -> None:
    fresh = [Row(row.record, []) for row in worked]
    apply_results(fresh, _crossed(pack_results(worked)))  # type: ignore[arg-type]
    assert [_results(row) for row in fresh] == [_results(row) for row in worked]


def test_columns_left_at_their_defaults_cross_as_nothing() -> None:
    rows = [Row(record, ["a"]) for record in range(1, 5)]
    rows[2].upload, rows[2].extra = "line", ["x", ""]
    packed = dict(zip((name for name, _ in RESULTS), pack_results(rows), strict=True))
    assert {name for name, column in packed.items() if column is not None} == {
        "upload", "extra"}
    lines, missing = packed["upload"]  # type: ignore[misc]
    assert lines == SEPARATOR.join(["", "", "line", ""])
    assert list(missing) == [0, 1, 3]  # the rows without a line


def test_records_that_run_on_cross_as_the_first_one() -> None:
    count, records, _ = pack_rows([Row(record, ["a", "b"]) for record in range(7, 12)])
    assert (count, records) == (5, 7)


def test_results_for_another_number_of_rows_are_an_error_not_a_shift() -> None:
    worked = [Row(record, []) for record in range(1, 4)]
    for row in worked:
        row.phone = f"+1415555267{row.record}"
    with pytest.raises(ValueError):
        apply_results([Row(1, []), Row(2, [])], pack_results(worked))
    cut = list(pack_results(worked))
    phones = [name for name, _ in RESULTS].index("phone")
    cut[phones] = SEPARATOR.join(["+14155552671", "+14155552672"])  # one value lost
    with pytest.raises(ValueError):
        apply_results([Row(record, []) for record in range(1, 4)], tuple(cut))


def test_region_codes_cross_once_each_unless_too_many_differ() -> None:
    rows = [Row(record, []) for record in range(300)]
    for row in rows:
        row.region, row.country = ("US", "DE")[row.record % 2], f"X{row.record}"
    fresh = [Row(row.record, []) for row in rows]
    packed = pack_results(rows)
    apply_results(fresh, _crossed(packed))  # type: ignore[arg-type]
    assert [(row.region, row.country) for row in fresh] == [
        (row.region, row.country) for row in rows]
    names = [name for name, _ in RESULTS]
    assert packed[names.index("region")] == (["US", "DE"], bytes(r % 2 for r in range(300)))
    assert isinstance(packed[names.index("country")], str)  # 300 distinct: joined instead
