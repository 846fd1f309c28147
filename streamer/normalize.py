"""Normalisers: phones to E.164 (libphonenumber's rules), emails, names and countries.

The phone and email libraries are the ground truth; results are cached because real
files repeat values (the same company switchboard, the same typo) far more than chance.
Phones are read by :mod:`streamer.phones`, which gives libphonenumber's answer without
calling it for numbers as people usually write them.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from streamer.country_names import ENGLISH_NAMES
from streamer.phones import read_phone, read_phone_exact
from streamer.reader import ColumnMap
from streamer.records import ReasonCode, RowBatch

__all__ = [
    "normalize_batch", "normalize_email", "normalize_name", "normalize_phone", "read_phone",
    "read_phone_exact", "region_for_country",
]

_CACHE_SIZE = 1 << 16


def _country_index() -> dict[str, str]:
    index = {region: region for region in phonenumbers.SUPPORTED_REGIONS}
    index.update({name: region for region, name in ENGLISH_NAMES.items()})
    # Spellings people use that are not libphonenumber's display names.
    index.update({
        "usa": "US", "united states of america": "US", "america": "US", "uk": "GB",
        "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
        "northern ireland": "GB", "holland": "NL", "deutschland": "DE", "espana": "ES",
        "españa": "ES",
    })
    return {key.casefold(): region for key, region in index.items()}


_COUNTRIES = _country_index()


def region_for_country(value: str) -> str | None:
    """The libphonenumber region for an ISO code or an English country name, else ``None``."""
    return _COUNTRIES.get(" ".join(value.split()).casefold())


def normalize_phone(raw: str, region: str) -> str | None:
    """``raw`` as E.164 if libphonenumber calls it a valid number, else ``None``.

    ``region`` reads numbers written without ``+country``; no other region is ever tried
    to "fix" a number that is invalid in it. One reading is corrected: digits that begin
    with the region's own country code but have no ``+`` or trunk ``0``
    (``4915127153684`` in DE) are the international form with its ``+`` dropped;
    libphonenumber would call them a valid but different national number
    (``+494915127153684``), so the international reading wins when it is valid.
    :func:`read_phone_exact` is this definition as libphonenumber calls;
    :func:`read_phone` returns the same, faster.
    """
    read = read_phone(raw, region)
    return read[0] if read is not None else None


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_email(raw: str) -> str | None:
    """The address trimmed and lower-cased if its syntax is valid, else ``None``.

    Syntax only: deliverability checks would query DNS for every domain. The domain is
    normalised by email-validator (IDNA); the local part is lower-cased too. RFC 5321
    lets a server treat ``Ann@`` and ``ann@`` as two mailboxes, but no mainstream one
    does, and a list that kept both would call one person twice.
    """
    try:
        valid = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return valid.normalized.lower()


def normalize_name(raw: str) -> str:
    """Trimmed, with runs of whitespace made one space."""
    return " ".join(raw.split())


def normalize_batch(
    batch: RowBatch,
    columns: ColumnMap,
    default_region: str,
    *,
    blank_invalid_email: bool = False,
) -> RowBatch:
    """Fill in each row's normalised fields, or reject what cannot be normalised.

    With ``blank_invalid_email`` an invalid email is dropped and the row kept.
    """
    width = len(columns.header)
    for row in batch:
        fields = row.fields
        if not any(value.strip() for value in fields):
            row.reason = ReasonCode.EMPTY_ROW
            continue
        if len(fields) != width:
            row.reason = ReasonCode.MALFORMED_ROW
            continue
        region = default_region
        if columns.country is not None and (country := fields[columns.country].strip()):
            found = region_for_country(country)
            if found is None:
                row.reason = ReasonCode.UNKNOWN_COUNTRY
                continue
            region = row.country = found
        raw_phone = fields[columns.phone].strip()
        if not raw_phone:
            row.reason = ReasonCode.MISSING_PHONE
            continue
        read = read_phone(raw_phone, region)
        if read is None:
            row.reason = ReasonCode.INVALID_PHONE
            continue
        row.phone, row.region = read
        if columns.email is not None and (raw_email := fields[columns.email].strip()):
            email = normalize_email(raw_email)
            if email is not None:
                row.email = email
            elif not blank_invalid_email:
                row.reason = ReasonCode.INVALID_EMAIL
                continue
        if columns.first_name is not None:
            row.first_name = normalize_name(fields[columns.first_name])
        if columns.last_name is not None:
            row.last_name = normalize_name(fields[columns.last_name])
        if columns.external_id is not None:
            row.external_id = fields[columns.external_id].strip()
    return batch
