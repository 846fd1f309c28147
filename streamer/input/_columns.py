"""Which column holds which field: the user's choice, else a usual spelling."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from streamer.errors import InputError
from streamer.fields import (
    MAX_PHONES,
    SYSTEM_FIELDS,
    ColumnMap,
    FieldKind,
    ListField,
    MappedColumn,
    list_field,
)
from streamer.records import header_key
from streamer.settings import DELIMITERS, Columns, ListFields, Settings

#: Usual header spellings per field, compared after dropping case, spaces and punctuation.
HEADER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone", "phonenumber", "phoneno", "mobile", "mobilephone", "mobilenumber", "cell",
        "cellphone", "telephone", "telephonenumber", "tel",
    ),
    "email": ("email", "emailaddress", "mail"),
    "first_name": ("firstname", "first", "givenname", "forename", "fname"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "country": ("country", "countrycode", "countryiso", "region"),
    "external_id": ("externalid", "contactid", "customerid", "crmid"),
}

_SHOWN_COLUMNS = 20
_SHOWN_NAME_CHARS = 40


def _show_columns(header: tuple[str, ...]) -> str:
    """The header for an error message: on one line and of a readable length."""
    shown = []
    for name in header[:_SHOWN_COLUMNS]:
        short = name[:_SHOWN_NAME_CHARS] + ("..." if len(name) > _SHOWN_NAME_CHARS else "")
        shown.append(short if short and short.isprintable() else repr(short))
    more = len(header) - _SHOWN_COLUMNS
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def file_columns(path: Path, header: Sequence[str], settings: Settings) -> ColumnMap:
    """The columns of ``path`` (a CSV file or a sheet) by its ``header`` and the run's
    settings; an error names the file."""
    try:
        return map_columns(
            tuple(h.strip() for h in header), settings.columns, settings.list_mapping(),
            settings.list_fields.upload_header, derived=settings.derived_fields)
    except InputError as error:
        raise InputError(f"{path}: {error}") from None


def map_columns(
    header: tuple[str, ...], chosen: Columns,
    mapping: Sequence[tuple[ListField, tuple[str, ...]]] | None = None,
    base_header: tuple[str, ...] = ListFields().upload_header, *,
    derived: Sequence[str] = (),
) -> ColumnMap:
    """Find each field's column: as mapped (``mapping``, with ``chosen`` folded in by
    :meth:`Settings.list_mapping`), else a usual spelling.

    When two columns have the same name (as compared by :func:`header_key`), the first
    is used and the other is carried along as data, like any column streamer ignores.
    """
    if mapping is None:
        mapping = Settings(columns=chosen).list_mapping()
    by_key: dict[str, int] = {}
    for index, name in enumerate(header):
        by_key.setdefault(header_key(name), index)

    def column_of(name: str, flag: str) -> int:
        index = by_key.get(header_key(name))
        if index is None:
            raise InputError(f"no column {name!r} for {flag}; columns found: "
                             f"{_show_columns(header)}")
        return index

    mapped = {target.label: (target, tuple(
        column_of(name, f"{target.label} (--map / Settings.field_map)") for name in names))
              for target, names in mapping}
    if chosen.country is not None:
        country: int | None = column_of(
            chosen.country, "the country (--country-column / Settings.columns.country)")
    else:
        country = _guess(by_key, "country")

    def find(name: str, guess: str) -> int | None:
        if name in mapped:
            return mapped.pop(name)[1][0]
        return _guess(by_key, guess)

    phones = mapped.pop("PhoneNumber")[1] if "PhoneNumber" in mapped else ()
    if not phones and (guessed := _guess(by_key, "phone")) is not None:
        phones = (guessed,)
    if not phones:
        raise InputError(f"no phone column: name it (--phone-column / Settings.columns.phone, "
                         f"or --map PhoneNumber=COLUMN); columns found: {_show_columns(header)}")
    email = find("Email", "email")
    columns = ColumnMap(
        header=header, phone=phones[0], email=email, first_name=find("FirstName", "first_name"),
        last_name=find("LastName", "last_name"), country=country,
        external_id=find("ExternalId", "external_id"), phones=phones,
        extras=_extras(header, mapped, phones, email, derived), base_header=base_header)
    _check_fits(columns)
    return columns


def _guess(by_key: dict[str, int], field_name: str) -> int | None:
    return next((by_key[k] for k in HEADER_SPELLINGS[field_name] if k in by_key), None)


def _extras(header: tuple[str, ...], mapped: dict[str, tuple[ListField, tuple[int, ...]]],
            phones: tuple[int, ...], email: int | None,
            derived: Sequence[str]) -> tuple[MappedColumn, ...]:
    """The mapped fields beyond the base four, in upload order: system fields as CXone
    lists them, then ``phone:`` fields, then custom ones as mapped.

    Each of PhoneNumber's fallback columns has a ``phone:`` field for when another
    column's number is the primary: its own ``phone:`` mapping, else one named after it.
    """
    system: dict[str, int | None] = {target.name: at[0] for target, at in mapped.values()
                                     if not target.custom}
    if email is not None:
        system["Email"] = email
    for name in derived:  # filled by streamer where the file leaves them empty
        system.setdefault(name, None)
    extras = [MappedColumn(target, system[target.name]) for target in SYSTEM_FIELDS
              if target.name in system]
    custom = [(target, at[0]) for target, at in mapped.values() if target.custom]
    phone_fields = {at: target for target, at in custom if target.kind is FieldKind.PHONE}
    for at in phones[1:]:
        target = phone_fields.pop(at, None) or list_field(f"phone:{header[at].strip()}")
        extras.append(MappedColumn(target, at, fallback=True))
    extras += [MappedColumn(target, at) for at, target in phone_fields.items()]
    extras += [MappedColumn(target, at) for target, at in custom
               if target.kind is not FieldKind.PHONE]
    return tuple(extras)


def _check_fits(columns: ColumnMap) -> None:
    """Every upload header once, and no more numbers than a record may hold."""
    seen: set[str] = set()
    for name in columns.upload_header:
        if name.casefold() in seen:
            raise InputError(f"two list fields would both be called {name!r} in the upload "
                             "file; rename the custom field")
        seen.add(name.casefold())
    phones = 1 + sum(1 for extra in columns.extras if extra.field.kind is FieldKind.PHONE)
    if phones > MAX_PHONES:
        raise InputError(f"{phones} phone numbers are mapped; a record holds at most "
                         f"{MAX_PHONES}")


def sniff_delimiter(first_line: str) -> str:
    """The delimiter among comma, tab and semicolon that splits the header line most."""
    outside_quotes = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: outside_quotes.count(d) for d in DELIMITERS.values()}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","

