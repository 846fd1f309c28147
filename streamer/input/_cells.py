"""A workbook's typed cells as the text a person sees in them, so a row from a sheet is
read exactly as the same row saved as CSV would be.

- a number: at most 15 significant digits (Excel's own precision, which is what it shows),
  never a trailing ``.0`` and never an exponent: ``4915127153684.0`` is ``4915127153684``,
  ``1.5`` stays ``1.5``, ``0.1 + 0.2`` is ``0.3``, ``1e-05`` is ``0.00001``;
- a date: ``2024-03-01``; a date with a time of day: ``2024-03-01T14:30:00``; a time:
  ``14:30:00``; a duration: ``26:00:00`` (hours, as Excel's ``[h]:mm:ss`` shows them);
- a boolean: ``true`` or ``false``, the words a calling list's fields take;
- text as typed (leading zeros and spaces kept); an empty cell empty.
"""

from __future__ import annotations

import datetime
from decimal import Decimal


def cell_text(value: object) -> str:
    """One cell's value, as read by openpyxl, as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, datetime.timedelta):
        seconds = round(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value)


def number_text(value: float) -> str:
    """A number cell's digits, as Excel shows them in a wide enough column."""
    text = format(value, ".15g")
    if "e" in text:  # Decimal writes any magnitude out in full
        text = format(Decimal(text), "f")
    return "0" if text == "-0" else text
