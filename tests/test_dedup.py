from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from streamer.cleaning._normalize import (
    normalize_email,
    normalize_name,
    normalize_phone,
    region_for_country,
)
from streamer.cleaning.dedup import Dedup
from streamer.cleaning.dedup._rules import allowed_edits, fold_name, name_pieces
from streamer.records import ReasonCode, Row
from streamer.settings import FuzzySettings
from tests.dedup_support import mistyped_email, similar_phones
from tests.test_accuracy import messy


def row(record: int, phone: str, email: str = "", external_id: str = "", first: str = "",
        last: str = "") -> Row:
    r = Row(record, [])
    r.phone, r.email, r.external_id = phone, email, external_id
    r.first_name, r.last_name = first, last
    return r


def test_the_first_record_of_a_contact_is_kept_and_later_ones_point_to_it() -> None:
    rows = [
        row(1, "+14155552671", "ann@example.com"),
        row(2, "+14155552671"),                       # same phone
        row(3, "+14155552672", "ann@example.com"),    # same email, other phone
        row(4, "+14155552673", "bob@example.com"),
        row(5, "+14155552672"),                       # phone of a duplicate: the kept one's
    ]
    Dedup().check_batch(rows, by_external_id=False)
    assert [(r.reason, r.duplicate_of) for r in rows] == [
        (None, None),
        (ReasonCode.SAME_PHONE, 1),
        (ReasonCode.SAME_EMAIL, 1),
        (None, None),
        (ReasonCode.SAME_PHONE, 1),
    ]


def test_a_duplicates_keys_lead_to_the_kept_record_never_to_the_duplicate() -> None:
    fuzzy = FuzzySettings()
    rows = [
        row(1, "+14155552671", "ann.lee@example.com", "A", "Ann", "Lee"),
        row(2, "+14155552671", "ann.work@example.org", "B"),     # by phone; new email, id
        row(3, "+13125550199", "ann.work@example.org"),           # the duplicate's email
        row(4, "+14155552677", "", "C", "Ann", "Lee"),            # a digit off: a typo of 1
        row(5, "+14155552677"),                                   # that duplicate's number
        row(6, "+16175550123", "", "B"),                          # the duplicate's id
    ]
    dedup = Dedup(fuzzy=fuzzy)
    dedup.check_batch(rows, by_external_id=True)
    assert [(r.reason, r.duplicate_of) for r in rows] == [
        (None, None),
        (ReasonCode.SAME_PHONE, 1),
        (ReasonCode.SAME_EMAIL, 1),
        (ReasonCode.SIMILAR_PHONE_SAME_NAME, 1),
        (ReasonCode.SAME_PHONE, 1),
        (ReasonCode.SAME_EXTERNAL_ID, 1),
    ]
    assert len(dedup) == 1  # aliases are not contacts


def test_a_chain_survives_the_table_growing() -> None:
    dedup = Dedup()
    kept = [row(n, f"+1415555{n:04d}", f"p{n}@example.com") for n in range(1, 3001)]
    twins = [row(3000 + n, f"+1415555{n:04d}", f"twin{n}@example.com") for n in range(1, 3001)]
    dedup.check_batch(kept + twins, by_external_id=False)  # the table doubles meanwhile
    later = [row(6000 + n, f"+1312555{n:04d}", f"twin{n}@example.com") for n in range(1, 3001)]
    dedup.check_batch(later, by_external_id=False)
    assert {(r.reason, r.duplicate_of) for r in later} == {
        (ReasonCode.SAME_EMAIL, n) for n in range(1, 3001)}
    assert len(dedup) == 3000


def test_every_number_a_record_dials_is_a_key_of_its_contact() -> None:
    def dialling(record: int, phone: str, home: str) -> Row:
        r = row(record, phone)
        r.extra = [home]
        return r

    rows = [dialling(1, "+14155552671", "+12125550100"),
            dialling(2, "+16465550142", "+12125550100"),   # the home again: left out
            dialling(3, "+12125550100", ""),               # dials 1's home: a duplicate
            dialling(4, "+14155552671", "+17185550123"),   # a duplicate with its own home
            dialling(5, "+17185550123", "")]               # ... which leads to 1
    Dedup(other_phones=((0, "Home"),)).check_batch(rows, by_external_id=False)
    assert [(r.reason, r.duplicate_of) for r in rows] == [
        (None, None), (None, None), (ReasonCode.SAME_PHONE, 1), (ReasonCode.SAME_PHONE, 1),
        (ReasonCode.SAME_PHONE, 1)]
    assert rows[1].extra == [""]
    assert rows[1].detail == "Home left out: dialled already for record 1"
    assert rows[1].upload is not None and "+12125550100" not in rows[1].upload


def test_external_ids_deduplicate_only_when_the_file_has_them() -> None:
    rows = [row(1, "+14155552671", external_id="A"), row(2, "+14155552672", external_id="A")]
    Dedup().check_batch(rows, by_external_id=True)
    assert (rows[1].reason, rows[1].duplicate_of) == (ReasonCode.SAME_EXTERNAL_ID, 1)
    again = [row(1, "+14155552671", external_id="A"), row(2, "+14155552672", external_id="A")]
    Dedup().check_batch(again, by_external_id=False)
    assert again[1].reason is None


def test_rows_already_rejected_are_left_alone_and_not_indexed() -> None:
    rejected = row(1, "+14155552671")
    rejected.reason = ReasonCode.INVALID_EMAIL
    later = row(2, "+14155552671")
    Dedup().check_batch([rejected, later], by_external_id=False)
    assert rejected.reason is ReasonCode.INVALID_EMAIL
    assert later.reason is None


def test_an_address_matches_only_itself_exactly() -> None:
    rows = [row(1, "+14155552671", "ann@example.com"), row(2, "+14155552672", "ann@example.org"),
            row(3, "+14155552673", "anne@example.com"), row(4, "+14155552674", "ann@example.org")]
    dedup = Dedup()
    dedup.check_batch(rows, by_external_id=False)
    assert [(r.reason, r.duplicate_of) for r in rows] == [
        (None, None), (None, None), (None, None), (ReasonCode.SAME_EMAIL, 2)]
    assert len(dedup) == 3


@pytest.mark.parametrize("by_external_id", [False, True])
def test_nbytes_counts_every_contact_compactly(by_external_id: bool) -> None:
    """Every name and address distinct: no key is shared, so every contact costs in full
    (a bounded cache of folded names is a big part of this at 20,000 contacts)."""
    dedup = Dedup(fuzzy=FuzzySettings())
    empty = dedup.nbytes()
    rows = [row(n, f"+1415{n:07d}", f"person{n}@example.com", f"E{n}", first=f"First{n}",
                last=f"Last{n}") for n in range(1, 20_001)]
    dedup.check_batch(rows, by_external_id=by_external_id)
    assert len(dedup) == len(rows)
    assert empty < dedup.nbytes() < (140 if by_external_id else 120) * len(rows)


# --- against a reference: every kept contact compared with every row -------------------------


@dataclass
class Kept:
    record: int
    digits: str
    email: str
    first: str
    last: str


def reference(rows: list[Row], fuzzy: FuzzySettings, *, by_external_id: bool = False
              ) -> list[tuple[str | None, int | None]]:
    """The rules of the dedup rules' docstring, by brute force: no blocks, exact counts.

    Valid while no block fills up (``max_block_size``)."""
    phones: dict[str, int] = {}
    emails: dict[str, int] = {}
    ids: dict[str, int] = {}
    namesakes: dict[tuple[str, str], list[Kept]] = defaultdict(list)
    verdicts: list[tuple[str | None, int | None]] = []
    for r in rows:
        verdict: tuple[str | None, int | None] = (None, None)
        if r.phone in phones:
            verdict = ReasonCode.SAME_PHONE, phones[r.phone]
        elif r.email and r.email in emails:
            verdict = ReasonCode.SAME_EMAIL, emails[r.email]
        elif by_external_id and r.external_id in ids:
            verdict = ReasonCode.SAME_EXTERNAL_ID, ids[r.external_id]
        name = fold_name(r.first_name), fold_name(r.last_name)
        if verdict[0] is None and all(name):
            verdict = fuzzy_reference(r, namesakes[name], fuzzy)
        verdicts.append(verdict)
        # A duplicate's exact keys lead to the contact it duplicates (chains).
        kept_record = r.record if verdict[1] is None else verdict[1]
        phones.setdefault(r.phone, kept_record)
        if r.email:
            emails.setdefault(r.email, kept_record)
        if by_external_id:
            ids.setdefault(r.external_id, kept_record)
        if verdict[0] is None and all(name):
            namesakes[name].append(Kept(r.record, r.phone[1:], r.email, r.first_name,
                                        r.last_name))
    return verdicts


def fuzzy_reference(r: Row, namesakes: list[Kept], fuzzy: FuzzySettings
                    ) -> tuple[str | None, int | None]:
    common = len(namesakes) >= fuzzy.max_namesakes
    pieces = name_pieces(r.first_name, r.last_name)
    local, _, domain = r.email.rpartition("@")
    by_email = by_phone = None
    if local and fuzzy.max_email_edits:
        close = [k for k in namesakes if k.email.rpartition("@")[0]
                 and k.email.rpartition("@")[2] == domain
                 and OSA.distance(local, k.email.rpartition("@")[0]) <= fuzzy.max_email_edits]
        if len(close) == 1:
            kept_local = close[0].email.rpartition("@")[0]
            budget = allowed_edits(local, kept_local, fuzzy, common=common, pieces=pieces)
            if mistyped_email(r.email, close[0].email, pieces, fuzzy, max_edits=budget):
                by_email = close[0].record
    digits = r.phone[1:]
    if fuzzy.max_phone_digit_differences and not common and digits.isdigit():
        close = [k for k in namesakes if similar_phones(digits, k.digits, fuzzy)]
        if len(close) == 1:
            kept = close[0]
            if not (local and kept.email.rpartition("@")[0]) or mistyped_email(
                    r.email, kept.email, pieces, fuzzy, max_edits=fuzzy.max_email_edits):
                by_phone = kept.record
    if by_email is not None and by_phone is not None and by_email != by_phone:
        return None, None
    if by_email is not None:
        return ReasonCode.SIMILAR_EMAIL, by_email
    if by_phone is not None:
        return ReasonCode.SIMILAR_PHONE_SAME_NAME, by_phone
    return None, None


NUMBERS = ["+14155552671", "+14155552677", "+14155552171", "+15155552671", "+13125550199",
           "+447911123456", "+447911123457", "+4479111234"]
LOCALS = ["ann.lee", "ann.lea", "anne.lee", "annlee7", "an.lee7", "annle7", "jose.garcia",
          "jsoe.garcia", "jose.garcia1", "bob", "lee.ann"]
people = st.lists(st.tuples(
    st.sampled_from(NUMBERS),
    st.one_of(st.just(""), st.builds("{}@{}".format, st.sampled_from(LOCALS),
                                     st.sampled_from(["example.com", "example.org"]))),
    st.sampled_from(["Ann", "ANN", "ann ", "José", "jose", "Bob", ""]),
    st.sampled_from(["Lee", "lee", "Li", "García", ""]),
    st.sampled_from(["A", "B", "C"]),
), max_size=40)


@settings(max_examples=300, deadline=None)
@given(people, st.booleans())
def test_the_index_agrees_with_comparing_every_pair(
        contacts: list[tuple[str, str, str, str, str]], by_external_id: bool) -> None:
    fuzzy = FuzzySettings(max_block_size=1000, max_namesakes=255)
    rows = [row(n, phone, email, xid, first, last)
            for n, (phone, email, first, last, xid) in enumerate(contacts, 1)]
    expected = reference(rows, fuzzy, by_external_id=by_external_id)
    Dedup(fuzzy=fuzzy).check_batch(rows, by_external_id=by_external_id)
    assert [(r.reason, r.duplicate_of) for r in rows] == expected


def messy_rows(people: int) -> list[Row]:
    rows = []
    for record, (fields, _) in enumerate(messy.generate(people, 11), 1):
        first, last, phone, email, country = fields
        r = row(record, normalize_phone(phone.strip(), region_for_country(country) or "US")
                or "", normalize_email(email) or "" if email.strip() else "",
                first=normalize_name(first), last=normalize_name(last))
        rows.append(r)
    return rows


@pytest.mark.parametrize("expected_rows", [0, 4_000])
def test_the_index_agrees_with_comparing_every_pair_grown_or_presized(
    expected_rows: int,
) -> None:
    """Thousands of messy rows: the table grows many times (or is made for them at once),
    names repeat, blocks chain."""
    rows = messy_rows(4_000)
    fuzzy = FuzzySettings(max_namesakes=255, max_block_size=1000)
    expected = reference(rows, fuzzy)
    dedup = Dedup(fuzzy=fuzzy, expected_rows=expected_rows)
    for start in range(0, len(rows), 512):
        dedup.check_batch(rows[start:start + 512], by_external_id=False)
    assert [(r.reason, r.duplicate_of) for r in rows] == expected
    assert sum(r.reason == ReasonCode.SIMILAR_EMAIL for r in rows) > 20
    assert sum(r.reason == ReasonCode.SIMILAR_PHONE_SAME_NAME for r in rows) > 20
