from __future__ import annotations

from streamer.dedup import Dedup
from streamer.records import ReasonCode, Row


def row(record: int, phone: str, email: str = "", external_id: str = "") -> Row:
    r = Row(record, [])
    r.phone, r.email, r.external_id = phone, email, external_id
    return r


def test_the_first_record_of_a_contact_is_kept_and_later_ones_point_to_it() -> None:
    rows = [
        row(1, "+14155552671", "ann@example.com"),
        row(2, "+14155552671"),                       # same phone
        row(3, "+14155552672", "ann@example.com"),    # same email, other phone
        row(4, "+14155552673", "bob@example.com"),
        row(5, "+14155552672"),                       # phone of a duplicate: not indexed
    ]
    Dedup().check_batch(rows, by_external_id=False)
    assert [(r.reason, r.duplicate_of) for r in rows] == [
        (None, None),
        (ReasonCode.SAME_PHONE, 1),
        (ReasonCode.SAME_EMAIL, 1),
        (None, None),
        (None, None),
    ]


def test_external_ids_deduplicate_only_when_the_file_has_them() -> None:
    rows = [row(1, "+14155552671", external_id="A"), row(2, "+14155552672", external_id="A")]
    Dedup().check_batch(rows, by_external_id=True)
    assert (rows[1].reason, rows[1].duplicate_of) == (ReasonCode.SAME_EXTERNAL_ID, 1)


def test_rows_already_rejected_are_left_alone_and_not_indexed() -> None:
    rejected = row(1, "+14155552671")
    rejected.reason = ReasonCode.INVALID_EMAIL
    later = row(2, "+14155552671")
    Dedup().check_batch([rejected, later], by_external_id=False)
    assert rejected.reason is ReasonCode.INVALID_EMAIL
    assert later.reason is None
