"""The data types every stage shares: rows in flight, their outcomes, and reason codes."""

from __future__ import annotations

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
    INVALID_EMAIL = "invalid_email"
    UNKNOWN_COUNTRY = "unknown_country"
    MISSING_EXTERNAL_ID = "missing_external_id"
    MISSING_COLUMN = "missing_<column>"  # a --required-columns column is blank; see missing()
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
    MISSING_AFTER_UPLOAD = "missing_after_upload"

    @staticmethod
    def missing(column: str) -> str:
        """The reason for a blank required column: ``missing_<column>``."""
        return f"missing_{column}"


#: What each reason means and what the user can do about it (the README's table).
REASON_HELP: dict[ReasonCode, str] = {
    ReasonCode.EMPTY_ROW: "every field is blank; delete the row",
    ReasonCode.MALFORMED_ROW: "the row has a different number of fields than the header; "
    "fix its quoting or delimiters",
    ReasonCode.MISSING_PHONE: "the phone column is blank; add a number",
    ReasonCode.INVALID_PHONE: "libphonenumber says the number cannot be dialled in its region; "
    "fix the digits, write it with +country code, or fill the country column",
    ReasonCode.INVALID_EMAIL: "the email is not a syntactically valid address; fix or blank it",
    ReasonCode.UNKNOWN_COUNTRY: "the country column holds neither an ISO code nor a known "
    "English country name; use a two-letter code such as US",
    ReasonCode.MISSING_EXTERNAL_ID: "the external id column is blank; give the row an id",
    ReasonCode.MISSING_COLUMN: "a column named in --required-columns is blank (the reason "
    "names it, e.g. missing_email); fill it in",
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
    ReasonCode.MISSING_AFTER_UPLOAD: "CXone completed the job but the record was not in the "
    "list when read back, even after re-sending it; run the file again or ask NICE support",
}


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
        self.reason: str | None = None  # a ReasonCode, or ReasonCode.missing(column)
        self.detail = ""  # more about the reason, e.g. which DNC group listed the number
        self.duplicate_of: int | None = None
        #: The row's line in the upload file, once made (``streamer.batching.upload_line``).
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
    reason: str | None = None
    duplicate_of: int | None = None
    external_id: str = ""
    #: The row's fields as read, for rejected and failed rows (to fix and feed again).
    fields: tuple[str, ...] = ()
    #: More about the reason: for failed rows what the server said ("HTTP 400: ..."),
    #: for do_not_call which list or DNC group holds the number.
    detail: str = ""


#: Rows travel between stages in lists (micro-batches), never one by one.
RowBatch = list[Row]
