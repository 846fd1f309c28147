"""Normalisers: phones to E.164 (libphonenumber's rules), emails, names and countries.

The phone and email libraries are the ground truth; results are cached because real
files repeat values (the same company switchboard, the same typo) far more than chance.
Phones are read by :mod:`streamer.cleaning._phones`, which gives libphonenumber's answer without
calling it for numbers as people usually write them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from streamer.cleaning import _emails as emails
from streamer.cleaning._fields import FieldValues
from streamer.cleaning._phones import (
    SCIENTIFIC_NOTE,
    Read,
    in_scientific_notation,
    read_phone,
    read_phone_exact,
)
from streamer.countries import region_for_country
from streamer.fields import DEFAULT_TIME_ZONES, ColumnMap
from streamer.notes import Note
from streamer.records import ReasonCode, RowBatch
from streamer.settings import Settings, TimeZoneTable

__all__ = [
    "NormalizeRules", "normalize_batch", "normalize_email", "normalize_name", "normalize_phone",
    "read_phone", "read_phone_exact", "region_for_country",
]


def normalize_phone(raw: str, region: str) -> str | None:
    """``raw`` as E.164 if libphonenumber calls it a valid number, else ``None``.

    ``region`` reads numbers written without ``+country``; no other region is ever tried
    to "fix" a number that is invalid in it. One reading is corrected, where the region
    writes a trunk prefix (its metadata has a national prefix and the number's national
    format carries it: :func:`streamer.cleaning._phones.writes_trunk_prefix`): digits that
    begin with the region's own country code but have no ``+`` or trunk ``0``
    (``4915127153684`` in DE) are the international form with its ``+`` dropped;
    libphonenumber would call them a valid but different national number
    (``+494915127153684``), so the international reading wins when it is valid. Regions
    without a trunk prefix (IT, VA, PL, ...) write national numbers that may begin with the
    country code: there libphonenumber's reading stands (``3902797404`` in IT is
    ``+393902797404``).
    :func:`read_phone_exact` is this definition as libphonenumber calls;
    :func:`read_phone` returns the same, faster.
    """
    read = read_phone(raw, region)
    return read[0] if read is not None else None


def normalize_email(raw: str) -> str | None:
    """The address trimmed and lower-cased if its syntax is valid, else ``None``.

    Syntax only: deliverability checks would query DNS for every domain. The domain is
    normalised by email-validator (IDNA); the local part is lower-cased too. RFC 5321
    lets a server treat ``Ann@`` and ``ann@`` as two mailboxes, but no mainstream one
    does, and a list that kept both would call one person twice.

    The answer is email-validator's for every string (``emails.library_normalize``);
    ordinary addresses are answered without it, about a hundred times faster (see
    :mod:`streamer.cleaning._emails`). Not cached here: most addresses in a file are unique, and
    what goes to the library is cached there.
    """
    return emails.normalize_email(raw)


def normalize_name(raw: str) -> str:
    """Trimmed, with runs of whitespace made one space."""
    return " ".join(raw.split())


@dataclass(frozen=True, slots=True)
class NormalizeRules:
    """How to read the file's records; small and picklable, for worker processes."""

    columns: ColumnMap
    default_region: str
    blank_invalid_email: bool = False
    time_zones: TimeZoneTable = DEFAULT_TIME_ZONES
    time_zone_from_phone: bool = False
    mark_mobiles: bool = False

    def __reduce__(self) -> tuple[type[NormalizeRules], tuple[object, ...]]:
        # Compiled by mypyc, its class is rebuilt in the worker from its fields alone.
        return NormalizeRules, tuple(getattr(self, field.name)
                                     for field in dataclasses.fields(self))

    @classmethod
    def of(cls, columns: ColumnMap, settings: Settings) -> NormalizeRules:
        """The rules a run's settings ask for, over the file's columns."""
        return cls(columns, settings.default_region,
                   blank_invalid_email=settings.invalid_email == "blank",
                   time_zones=settings.list_fields.time_zones,
                   time_zone_from_phone=settings.time_zone_from_phone,
                   mark_mobiles=settings.mark_mobiles)

    @property
    def whole_file(self) -> bool:
        return False

    def start(self) -> Callable[[RowBatch], RowBatch]:
        values = FieldValues(self.columns, self.time_zones,
                             time_zone_from_phone=self.time_zone_from_phone,
                             mark_mobiles=self.mark_mobiles) if self.columns.extras else None
        return partial(normalize_batch, rules=self, values=values)


def _read_written(raw: str, region: str, not_understood: str) -> Read | None:
    """The number ``raw`` reads as, unless it is blank, was written by Excel in scientific
    notation, or has no ``+code`` where the row's country text was not understood."""
    if not raw or (not_understood and raw[0] != "+") or in_scientific_notation(raw):
        return None
    return read_phone(raw, region)


def _primary_number(fields: list[str], raw_phone: str, phone_at: int,
                    fallbacks: tuple[int, ...], region: str,
                    not_understood: str) -> tuple[int, Read] | None:
    """The first of the phone columns (``raw_phone``, stripped, at ``phone_at``, then the
    fallbacks in the mapping's order) whose number reads, with where it is."""
    read = _read_written(raw_phone, region, not_understood)
    if read is not None:
        return phone_at, read
    for at in fallbacks:
        read = _read_written(fields[at].strip(), region, not_understood)
        if read is not None:
            return at, read
    return None


def normalize_batch(batch: RowBatch, rules: NormalizeRules,
                    values: FieldValues | None = None) -> RowBatch:
    """Fill in each row's normalised fields, or reject what cannot be normalised.

    With ``rules.blank_invalid_email`` an invalid email is dropped and the row kept.
    With several phone columns, the first valid number is the primary; ``values`` fills
    the mapped fields beyond the base four.
    """
    columns = rules.columns
    width = len(columns.header)
    phone_at, email_at, country_at = columns.phone, columns.email, columns.country
    first_at, last_at, id_at = columns.first_name, columns.last_name, columns.external_id
    fallbacks = columns.phones[1:]
    for row in batch:
        fields = row.fields
        # A blank row is told apart only where a check fails: the test costs a scan.
        if len(fields) != width:
            row.reason = (ReasonCode.EMPTY_ROW if not any(value.strip() for value in fields)
                          else ReasonCode.MALFORMED_ROW)
            continue
        region = rules.default_region
        not_understood = ""  # the country text, when the row is read by its numbers' +codes
        if country_at is not None and (written := fields[country_at].strip()):
            found = region_for_country(written)
            if found is None:
                if not any(fields[at].lstrip().startswith("+") for at in columns.phones):
                    row.reason = ReasonCode.UNKNOWN_COUNTRY
                    continue
                not_understood = written
            else:
                region = row.country = found
        raw_phone = fields[phone_at].strip()
        primary = _primary_number(fields, raw_phone, phone_at, fallbacks, region,
                                  not_understood)
        if primary is None:
            raw_phone = raw_phone or next(
                (value for at in fallbacks if (value := fields[at].strip())), "")
            if not raw_phone:
                row.reason = (ReasonCode.EMPTY_ROW if not any(v.strip() for v in fields)
                              else ReasonCode.MISSING_PHONE)
            else:
                row.reason = (ReasonCode.PHONE_IN_SCIENTIFIC_NOTATION
                              if in_scientific_notation(raw_phone) else ReasonCode.INVALID_PHONE)
            continue
        primary_at, read = primary
        if primary_at != phone_at and raw_phone:
            why = ("no +code, and the country was not understood"
                   if not_understood and raw_phone[0] != "+" else SCIENTIFIC_NOTE
                   if in_scientific_notation(raw_phone) else "not a valid number")
            Note.add(row, Note.left_out(columns.header[phone_at], why))
        if email_at is not None and (raw_email := fields[email_at].strip()):
            email = emails.normalize_email(raw_email)  # not via the wrapper: per row
            if email is None and not rules.blank_invalid_email:
                row.reason = ReasonCode.INVALID_EMAIL
                continue
            row.email = email or ""
        row.phone, row.region = read
        if not_understood:  # the number's country stands for the row's (and its rules)
            region = row.region
            Note.add(row, Note.country_not_understood(not_understood))
        if first_at is not None:
            row.first_name = normalize_name(fields[first_at])
        if last_at is not None:
            row.last_name = normalize_name(fields[last_at])
        if id_at is not None:
            row.external_id = fields[id_at].strip()
        if values is not None:
            values.fill(row, region, primary_at)
    return batch
