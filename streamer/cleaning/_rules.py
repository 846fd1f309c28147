"""Campaign rules: what an otherwise well-formed row must satisfy to be uploaded."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from streamer.cleaning._dnc import DoNotCall
from streamer.errors import InputError
from streamer.fields import ColumnMap
from streamer.notes import Note
from streamer.records import NamedReason, ReasonCode, Row, RowBatch, header_key
from streamer.upload_format import derive_external_id, upload_line

#: Required-column names that mean one of the fields streamer knows.
_FIELDS = {"phone": "phone", "email": "email", "firstname": "first_name",
           "lastname": "last_name", "country": "country", "externalid": "external_id"}


def column_slug(name: str) -> str:
    """``Account No.`` → ``account_no``: how a column appears in a reason code."""
    return re.sub(r"[\W_]+", "_", name.casefold()).strip("_")


def required_columns(names: Sequence[str], columns: ColumnMap) -> list[tuple[int, NamedReason]]:
    """(column index, reason) for each required column; an absent column is an error."""
    by_key: dict[str, int] = {}
    for position, header in enumerate(columns.header):
        by_key.setdefault(header_key(header), position)
    required: list[tuple[int, NamedReason]] = []
    for name in names:
        key = header_key(name)
        field = _FIELDS.get(key)
        index: int | None = getattr(columns, field) if field else None
        if index is None:
            index = by_key.get(key)
        if index is None:
            raise InputError(f"required column {name!r} is not in the file; "
                             f"columns found: {', '.join(columns.header)}")
        required.append((index, ReasonCode.missing(field or column_slug(name))))
    return required


class CampaignRules:
    """The campaign's checks, in the order a row meets them."""

    def __init__(
        self,
        columns: ColumnMap,
        *,
        required: Sequence[str] = (),
        allowed_countries: frozenset[str] | None = None,
        dnc: DoNotCall | None = None,
        max_record_chars: int,
    ) -> None:
        self._columns = columns
        self._required_names = tuple(required)  # to rebuild it in a worker (__reduce__)
        self._required = required_columns(required, columns)
        self._allowed = allowed_countries
        self._dnc = dnc
        self._max_chars = max_record_chars
        self._other_phones = columns.other_phones

    def __reduce__(self) -> tuple[Callable[..., CampaignRules], tuple[object, ...]]:
        # Compiled by mypyc, it is rebuilt in a worker from what it was made with.
        return _campaign_rules, (self._columns, self._required_names, self._allowed, self._dnc,
                                 self._max_chars)

    @property
    def whole_file(self) -> bool:
        return False

    def start(self) -> Callable[[RowBatch], RowBatch]:
        return self.apply

    def apply(self, batch: RowBatch) -> RowBatch:
        """Give each live row its external id, and reject rows the campaign cannot take."""
        has_external_ids = self._columns.external_id is not None
        required = self._required
        for row in batch:
            if row.reason is not None:
                continue
            if required and (missing := next((reason for index, reason in required
                                              if not row.fields[index].strip()), None)):
                row.reason = missing
                continue
            if has_external_ids:
                if not row.external_id:
                    row.reason = ReasonCode.MISSING_EXTERNAL_ID
                    continue
            else:
                row.external_id = derive_external_id(row.phone)
            if self._allowed is not None and (row.country or row.region) not in self._allowed:
                row.reason = ReasonCode.COUNTRY_NOT_ALLOWED
                continue
            if (dnc := self._dnc) is not None:
                if listed := dnc.source_of(row.phone):
                    row.reason, row.detail = ReasonCode.DO_NOT_CALL, listed
                    continue
                if self._other_phones:
                    self._leave_out_listed(row, dnc)
            if len(upload_line(row)) > self._max_chars:
                row.reason = ReasonCode.RECORD_TOO_LONG
        return batch

    def _leave_out_listed(self, row: Row, dnc: DoNotCall) -> None:
        """Leave out each secondary number the do-not-call set holds: every number that
        would be dialled is checked, and only the primary one rejects the row."""
        extra = row.extra
        assert extra is not None
        for at, name in self._other_phones:
            if extra[at] and (listed := dnc.source_of(extra[at])):
                extra[at] = ""
                Note.add(row, Note.left_out(name, f"on the do-not-call list ({listed})"))


def _campaign_rules(columns: ColumnMap, required: Sequence[str],
                    allowed_countries: frozenset[str] | None, dnc: DoNotCall | None,
                    max_record_chars: int) -> CampaignRules:
    """:class:`CampaignRules` from positional arguments, as unpickling calls it."""
    return CampaignRules(columns, required=required, allowed_countries=allowed_countries,
                         dnc=dnc, max_record_chars=max_record_chars)
