"""Which column holds which field: the user's choice, else a usual spelling."""

from __future__ import annotations

import re

from streamer.errors import InputError
from streamer.records import ColumnMap, header_key
from streamer.settings import DELIMITERS, Columns

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


def map_columns(header: tuple[str, ...], chosen: Columns) -> ColumnMap:
    """Find each field's column: the user's choice, else a usual spelling.

    When two columns have the same name (as compared by :func:`header_key`), the first
    is used and the other is carried along as data, like any column streamer ignores.
    """
    by_key: dict[str, int] = {}
    for index, name in enumerate(header):
        by_key.setdefault(header_key(name), index)

    def find(field_name: str) -> int | None:
        wanted = getattr(chosen, field_name)
        if wanted is not None:
            index = by_key.get(header_key(wanted))
            if index is None:
                raise InputError(
                    f"no column {wanted!r} for --{field_name.replace('_', '-')}-column; "
                    f"columns found: {_show_columns(header)}"
                )
            return index
        return next((by_key[k] for k in HEADER_SPELLINGS[field_name] if k in by_key), None)

    phone = find("phone")
    if phone is None:
        raise InputError(
            f"no phone column (use --phone-column); columns found: {_show_columns(header)}"
        )
    return ColumnMap(
        header=header,
        phone=phone,
        email=find("email"),
        first_name=find("first_name"),
        last_name=find("last_name"),
        country=find("country"),
        external_id=find("external_id"),
    )


def sniff_delimiter(first_line: str) -> str:
    """The delimiter among comma, tab and semicolon that splits the header line most."""
    outside_quotes = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: outside_quotes.count(d) for d in DELIMITERS.values()}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","

