"""CSV text as streamer writes it: lines made fast, and cells made safe for spreadsheets.

Upload files and ``outcomes.csv`` are millions of lines: :func:`csv_line` makes each as
``csv.writer`` would, without it where nothing needs quoting. Every cell a person may
open goes through :func:`neutralize` first.
"""

from __future__ import annotations

import csv
import io
import re

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV
# Injection"); a leading apostrophe makes it plain text.
FORMULA_STARTS = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralize(text: str) -> str:
    """``text``, made safe to open in a spreadsheet; numbers (``+14155552671``) pass."""
    if text and text[0] in FORMULA_STARTS and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_line(fields: tuple[str, ...]) -> str:
    """``fields`` as ``csv.writer`` writes them on one line, without the line ending."""
    line = ",".join(fields)
    # The usual case, nothing to quote: the only commas are the separators.
    if (line.count(",") == len(fields) - 1 and '"' not in line and "\n" not in line
            and "\r" not in line):
        return line
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue()[:-2]
