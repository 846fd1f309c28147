"""The plain types every stage shares: rows in flight and where their fields sit, upload
batches, outcomes and their reason codes (the counters a run keeps are
:mod:`streamer.counters`). Imports nothing of streamer: every other module may use these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class OutcomeKind(StrEnum):
    """What finally happened to one input row."""

    UPLOADED = "uploaded"
    ACCEPTED = "accepted"  # a dry run's stand-in for "uploaded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    FAILED = "failed"


class ReasonCode(StrEnum):
    """Why a row was rejected, marked duplicate or failed. The one list of them all."""

    # rejected: the row cannot be dialled as it stands
    EMPTY_ROW = "empty_row"
    MALFORMED_ROW = "malformed_row"
    MISSING_PHONE = "missing_phone"
    INVALID_PHONE = "invalid_phone"
    PHONE_IN_SCIENTIFIC_NOTATION = "phone_in_scientific_notation"
    INVALID_EMAIL = "invalid_email"
    UNKNOWN_COUNTRY = "unknown_country"
    MISSING_EXTERNAL_ID = "missing_external_id"
    MISSING_COLUMN = "missing_<column>"  # a --required-columns column is blank; see missing()
    INVALID_FIELD = "invalid_<field>"  # a mapped typed field CXone would refuse; see invalid()
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    DO_NOT_CALL = "do_not_call"
    RECORD_TOO_LONG = "record_too_long"
    # duplicate: the same contact was kept at an earlier record
    SAME_PHONE = "same_phone"
    SAME_EMAIL = "same_email"
    SAME_EXTERNAL_ID = "same_external_id"
    SIMILAR_EMAIL = "similar_email"
    SIMILAR_PHONE_SAME_NAME = "similar_phone_same_name"
    # failed: accepted, but CXone did not take it
    UPLOAD_FAILED = "upload_failed"
    JOB_CANCELLED = "job_cancelled"
    JOB_TIMEOUT = "job_timeout"
    UPLOAD_UNCONFIRMED = "upload_unconfirmed"
    MISSING_AFTER_UPLOAD = "missing_after_upload"
    VERIFY_INCOMPLETE = "verify_incomplete"

    @staticmethod
    def missing(column: str) -> NamedReason:
        """The reason for a blank required column: ``missing_<column>``."""
        return NamedReason(f"missing_{column}")

    @staticmethod
    def invalid(field_slug: str) -> NamedReason:
        """The reason for a mapped field's value CXone would refuse: ``invalid_<field>``."""
        return NamedReason(f"invalid_{field_slug}")


class NamedReason(str):
    """A reason named after the run's own column or field (``missing_email``,
    ``invalid_score``): of the families :attr:`ReasonCode.MISSING_COLUMN` and
    :attr:`ReasonCode.INVALID_FIELD`, which no fixed list can hold."""

    __slots__ = ()


#: Why a row did not go in as it stood: a fixed code, or one named after a column.
Reason = ReasonCode | NamedReason


#: What each reason means and what the user can do about it (the README's table).
REASON_HELP: dict[ReasonCode, str] = {
    ReasonCode.EMPTY_ROW: "every field is blank; delete the row",
    ReasonCode.MALFORMED_ROW: "the row has a different number of fields than the header; "
    "fix its quoting or delimiters",
    ReasonCode.MISSING_PHONE: "the phone column is blank; add a number",
    ReasonCode.INVALID_PHONE: "libphonenumber says the number cannot be dialled in its region; "
    "fix the digits, write it with +country code, or fill the country column",
    ReasonCode.PHONE_IN_SCIENTIFIC_NOTATION: "the number is in scientific notation "
    "(1.51E+11): a spreadsheet showed it so and its last digits are lost; format the phone "
    "column as text in the spreadsheet and export the file again",
    ReasonCode.INVALID_EMAIL: "the email is not a syntactically valid address; fix or blank it",
    ReasonCode.UNKNOWN_COUNTRY: "the country column holds no country streamer knows (ISO "
    "codes, English, official and local names are read) and no phone of the row is written "
    "with +country code; use a two-letter code such as US, or write the number with +",
    ReasonCode.MISSING_EXTERNAL_ID: "the external id column is blank; give the row an id",
    ReasonCode.MISSING_COLUMN: "a column named in --required-columns is blank (the reason "
    "names it, e.g. missing_email); fill it in",
    ReasonCode.INVALID_FIELD: "a mapped field holds what its type does not allow (the "
    "reason names it: invalid_score, invalid_priority and invalid_call_request_stale_minutes "
    "want a whole number, invalid_expiration_date and invalid_call_request_date_time an ISO "
    "date such as 2026-12-31 or 2026-12-31T09:30, invalid_compliance and "
    "invalid_confirmation_required true/false, yes/no or 1/0, invalid_time_zone a name of "
    "the time-zone table); fix or blank it",
    ReasonCode.COUNTRY_NOT_ALLOWED: "the row's country (or, without a country column, the "
    "phone's) is not in --allowed-countries; leave it out of this campaign",
    ReasonCode.DO_NOT_CALL: "the number is on the --dnc list or a --dnc-group (named in the "
    "detail column); never call it",
    ReasonCode.RECORD_TOO_LONG: "the record as uploaded is over the character limit "
    "(--max-record-chars, CXone's 512 by default); shorten the names",
    ReasonCode.SAME_PHONE: "an earlier record has the same number (E.164); nothing to do",
    ReasonCode.SAME_EMAIL: "an earlier record has the same email; nothing to do",
    ReasonCode.SAME_EXTERNAL_ID: "an earlier record has the same external id; "
    "give distinct contacts distinct ids",
    ReasonCode.SIMILAR_EMAIL: "an earlier record has the same name and the same email with a "
    "typo or two; if they are two people, run with --dedup exact",
    ReasonCode.SIMILAR_PHONE_SAME_NAME: "an earlier record has the same name (and email) and "
    "a number one digit off; if they are two people, run with --dedup exact",
    ReasonCode.UPLOAD_FAILED: "CXone refused the batch or kept failing after every retry; "
    "see audit.jsonl and run the file again",
    ReasonCode.JOB_CANCELLED: "CXone cancelled the upload job; run the file again",
    ReasonCode.JOB_TIMEOUT: "the upload job did not complete in time; run the file again "
    "(uploads are idempotent by external id)",
    ReasonCode.UPLOAD_UNCONFIRMED: "CXone's answer to the upload could not be read and "
    "read-back was off, so nobody knows whether the rows arrived; run the file again "
    "(uploads are idempotent by external id)",
    ReasonCode.MISSING_AFTER_UPLOAD: "CXone completed the job but the record was not in the "
    "list when read back, even after re-sending it; run the file again or ask NICE support",
    ReasonCode.VERIFY_INCOMPLETE: "the upload went out but reading the list back could not "
    "finish (the service kept refusing), so the row may well be in the list; check it in "
    "CXone, or run failed.csv again later (uploads are idempotent by external id)",
}


def reason_outcome(reason: str) -> OutcomeKind:
    """The outcome a reason goes with: duplicate, failed, or (any other) rejected."""
    if reason in _DUPLICATE_REASONS:
        return OutcomeKind.DUPLICATE
    return OutcomeKind.FAILED if reason in _FAILED_REASONS else OutcomeKind.REJECTED


_DUPLICATE_REASONS = frozenset({
    ReasonCode.SAME_PHONE, ReasonCode.SAME_EMAIL, ReasonCode.SAME_EXTERNAL_ID,
    ReasonCode.SIMILAR_EMAIL, ReasonCode.SIMILAR_PHONE_SAME_NAME})
_FAILED_REASONS = frozenset({
    ReasonCode.UPLOAD_FAILED, ReasonCode.JOB_CANCELLED, ReasonCode.JOB_TIMEOUT,
    ReasonCode.UPLOAD_UNCONFIRMED, ReasonCode.MISSING_AFTER_UPLOAD,
    ReasonCode.VERIFY_INCOMPLETE})


class Row:
    """One input record on its way through the stages.

    Stages fill in the normalised fields and, when they decide the row's fate early,
    ``reason`` (rejected) or ``duplicate_of`` (duplicate). A plain slotted class rather
    than a dataclass: millions of these are made and mutated in place.
    """

    __slots__ = (
        "country",
        "detail",
        "duplicate_of",
        "email",
        "external_id",
        "extra",
        "fields",
        "first_name",
        "last_name",
        "phone",
        "reason",
        "record",
        "region",
        "upload",
    )

    def __init__(self, record: int, fields: list[str]) -> None:
        self.record = record
        self.fields = fields
        self.phone = ""
        self.email = ""
        self.first_name = ""
        self.last_name = ""
        self.country = ""  # the row's own country column, as a region code
        self.region = ""  # the region the phone number rings in
        self.external_id = ""
        #: The values of the mapped fields beyond the base four, in upload order.
        self.extra: list[str] | None = None
        self.reason: Reason | None = None
        #: More about the reason (e.g. which DNC group listed the number); for a row kept,
        #: what was done to its fields (``notes``), e.g. a secondary number left out.
        self.detail = ""
        self.duplicate_of: int | None = None
        #: The row's line in the upload file, once made (``streamer.upload_format.upload_line``).
        self.upload: str | None = None

    def __repr__(self) -> str:
        # Deliberately no field values: rows hold personal data.
        return f"Row(record={self.record}, reason={self.reason}, duplicate_of={self.duplicate_of})"


class Outcome(NamedTuple):
    """The final fate of one input record (1-based, header excluded).

    A named tuple: one is made per input row, and a tuple is made twice as fast as a
    frozen dataclass.
    """

    record: int
    outcome: OutcomeKind
    reason: Reason | None = None
    duplicate_of: int | None = None
    external_id: str = ""
    #: The row's fields as read, for rejected and failed rows (to fix and feed again).
    fields: tuple[str, ...] = ()
    #: More about the reason: for failed rows what the server said ("HTTP 400: ..."),
    #: for do_not_call which list or DNC group holds the number.
    detail: str = ""
    #: The row's country as an ISO code (its country column's, else its number's), "" when
    #: neither could be read; the report counts outcomes by it.
    country: str = ""


class RecordPlace(NamedTuple):
    """Where one record sits in its file and whose it is, as written (not masked): for the
    few records a report shows."""

    #: The row a spreadsheet shows the record on: the header is row 1, and blank lines
    #: (not numbered as records) still take a row.
    sheet_row: int
    phone: str = ""
    email: str = ""
    name: str = ""


#: Rows travel between stages in lists (micro-batches), never one by one.
RowBatch = list[Row]


def header_key(name: str) -> str:
    """How header names are compared: case-, space- and punctuation-insensitively."""
    return re.sub(r"[\W_]+", "", name.casefold())


def decided_outcome(row: Row) -> Outcome:
    """The outcome of a row an earlier stage rejected or found duplicate."""
    assert row.reason is not None
    if row.duplicate_of is not None:
        return Outcome(row.record, OutcomeKind.DUPLICATE, row.reason, row.duplicate_of,
                       row.external_id, (), "", row.country or row.region)
    return Outcome(row.record, OutcomeKind.REJECTED, row.reason, None, row.external_id,
                   tuple(row.fields), row.detail, row.country or row.region)


def row_outcomes(
    rows: list[Row], kind: OutcomeKind, reason: ReasonCode | None = None, detail: str = ""
) -> list[Outcome]:
    """The same outcome for each row; failed rows carry their fields, to feed again, and
    rows kept their notes (what was done to their fields)."""
    if kind is OutcomeKind.FAILED:
        return [Outcome(row.record, kind, reason, None, row.external_id, tuple(row.fields),
                        detail, row.country or row.region) for row in rows]
    return [Outcome(row.record, kind, reason, None, row.external_id, (), row.detail,
                    row.country or row.region) for row in rows]


@dataclass(frozen=True, slots=True)
class UploadBatch:
    """One upload file: its rows (for their outcomes) and the CSV bytes sent."""

    batch_id: int
    rows: list[Row]
    payload: bytes
    kind: str = "batch"  # "resend" for read-back reconciliation's second tries

    @property
    def file_name(self) -> str:
        return f"{self.kind}-{self.batch_id:06d}.csv"
