"""CSV lines as ``csv.writer`` writes them, made without it where nothing needs quoting:
upload files and ``outcomes.csv`` are millions of such lines."""

from __future__ import annotations

import csv
import io


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
