"""The plain types every stage shares: rows in flight and where their fields sit, upload
batches, outcomes and their reason codes, and the counters a run keeps (progress, upload
statistics, read-back, the mirror). Imports nothing of streamer: every other module may use these.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, TypedDict


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


class Phase(StrEnum):
    """What a run is doing, in the usual order; a resumed run first verifies what an earlier
    one may have uploaded, re-sending goes back to verifying, a dry run reads then writes."""

    READING = "reading"
    UPLOADING = "uploading"  # every row read; batches still going out
    WAITING = "waiting for jobs"  # every batch sent; CXone's jobs not all completed
    VERIFYING = "verifying"
    RESENDING = "re-sending"
    MIRRORING = "mirroring"
    WRITING = "writing outputs"


class PhaseMark(NamedTuple):
    """A phase entered, and when: ``time.monotonic()`` (for durations) and ``time.time()``."""
    phase: Phase
    monotonic: float
    wall: float


@dataclass(slots=True)
class Progress:
    """Live counters for a progress display; the run updates them, anyone may read them.
    ``phases`` logs each phase entered; ``jobs_waiting`` counts CXone jobs not yet seen
    completed; ``page`` of ``pages`` (0: not known) is where read-back has got to."""

    bytes_total: int = 0  # 0: not known (no share, no ETA)
    bytes_read: int = 0
    rows_read: int = 0
    sent: int = 0
    uploaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    started: float = 0.0
    resumed: bool = False
    settled_before: int = 0  # rows a resumed run found settled by the runs before it
    phases: list[PhaseMark] = field(default_factory=list)
    jobs_waiting: int = 0
    page: int = 0
    pages: int = 0

    @property
    def decided(self) -> int:
        return self.uploaded + self.duplicates + self.rejected + self.failed

    @property
    def phase(self) -> Phase | None:
        return self.phases[-1].phase if self.phases else None

    def enter(self, phase: Phase) -> None:
        """Log ``phase`` as begun now, unless the run is in it already."""
        if phase is not self.phase:
            self.phases.append(PhaseMark(phase, time.monotonic(), time.time()))

    def describe_phase(self) -> str:
        """The phase in words, with its detail: ``waiting for 3 jobs``, ``verifying page 2/9``."""
        phase = self.phase
        if phase is Phase.WAITING:
            return f"waiting for {self.jobs_waiting:,} job{'' if self.jobs_waiting == 1 else 's'}"
        if phase is Phase.VERIFYING and self.page:
            return f"verifying page {self.page:,}" + (f"/{self.pages:,}" if self.pages else "")
        return phase.value if phase is not None else "starting"

    def count(self, outcomes: list[Outcome]) -> None:
        """Add decided outcomes to the counters (a dry run's ``accepted`` as uploaded)."""
        for outcome in outcomes:
            kind = outcome.outcome
            if kind is OutcomeKind.UPLOADED or kind is OutcomeKind.ACCEPTED:
                self.uploaded += 1
            elif kind is OutcomeKind.DUPLICATE:
                self.duplicates += 1
            elif kind is OutcomeKind.REJECTED:
                self.rejected += 1
            else:
                self.failed += 1


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class UploadSummary(TypedDict):
    """``report.json``'s ``upload``: :meth:`UploadStats.summary`."""

    batches: int
    failed_batches: int
    rows_sent: int
    requests: int
    succeeded: int
    retries: int
    throttled: int
    success_rate: float | None
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    #: The adaptive window: ``start``, ``lowest``, ``highest``, ``final`` and ``maximum``.
    concurrency: dict[str, int]


@dataclass(slots=True)
class UploadStats:
    """What the uploader saw: requests, retries, throttling, and latency."""

    requests: int = 0
    succeeded: int = 0
    retries: int = 0
    throttled: int = 0
    batches: int = 0
    failed_batches: int = 0
    rows_sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    concurrency: dict[str, int] = field(default_factory=dict)
    #: One entry per upload request: [seconds into the run, latency ms, HTTP status (0: no
    #: answer), uploads allowed in flight]. A few thousand at most: one per batch try.
    timeline: list[list[float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note_request(self, latency_ms: float, status: int, concurrency: int) -> None:
        self.timeline.append([round(time.monotonic() - self.started, 3), round(latency_ms, 1),
                              status, concurrency])

    def summary(self) -> UploadSummary:
        p50, p95 = percentile(self.latencies_ms, 0.5), percentile(self.latencies_ms, 0.95)
        return {
            "batches": self.batches,
            "failed_batches": self.failed_batches,
            "rows_sent": self.rows_sent,
            "requests": self.requests,
            "succeeded": self.succeeded,
            "retries": self.retries,
            "throttled": self.throttled,
            "success_rate": round(self.succeeded / self.requests, 4) if self.requests else None,
            "latency_ms_p50": round(p50, 1) if p50 is not None else None,
            "latency_ms_p95": round(p95, 1) if p95 is not None else None,
            "concurrency": self.concurrency,
        }


@dataclass(slots=True)
class Verification:
    """What read-back reconciliation found; goes into the report.

    The counts are this run's; ``verified_earlier`` is what earlier runs of a resumed
    run had verified already. ``incomplete`` says why read-back could not finish (its
    undecided rows failed with ``verify_incomplete``); the ``list_*`` fields are what
    CXone said of the list as a whole on the last read-back.
    """

    enabled: bool = False
    records_read: int = 0
    verified: int = 0
    verified_earlier: int = 0
    resent: int = 0
    missing_after_upload: int = 0
    incomplete: str | None = None
    list_status: str | None = None
    list_total_records: int | None = None
    list_valid_records: int | None = None
    list_invalid_records: int | None = None

    def summary(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Mirroring:
    """What ``--mirror`` did to the list; goes into the report.

    ``list_size`` counts the distinct external ids the list held when it was read, before
    anything was removed; ``would_remove`` those of them not among the file's uploaded
    rows (in a dry run: its accepted rows). Of those, ``removed`` left the list and
    ``failed`` did not. ``refused`` says why the guard removed nothing; ``skipped`` why the
    mirror did not run at all (a failed row, no list yet).
    """

    enabled: bool = False
    dry_run: bool = False
    max_remove: float = 0.0
    list_name: str | None = None
    list_size: int = 0
    would_remove: int = 0
    removed: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    refused: str | None = None
    skipped: str | None = None

    def summary(self) -> dict[str, Any]:
        return asdict(self)
