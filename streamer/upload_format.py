"""The upload file's format: its header, each row's line, and ids for rows without one.

An upload file is UTF-8 CSV with CRLF line ends: the header (``ColumnMap.upload_header``:
the base four, then every other mapped field) then one line per row. A row's line is made
once, where the rules measure it against the record limit (a worker process); the batcher
only joins lines.
"""

from __future__ import annotations

import hashlib

from streamer.csv_text import csv_line, neutralize
from streamer.records import Row
from streamer.settings import ListFields

#: The upload file's header unless settings say otherwise; the list's mapping names these.
UPLOAD_HEADER = ListFields().upload_header
_EXTERNAL_ID_SALT = b"streamer/external-id/v1\x1f"


def derive_external_id(phone_e164: str) -> str:
    """A stable external id for a contact that came without one.

    A hash of the E.164 number: the same number gets the same id on every run and
    machine, so re-uploading updates the list's record instead of adding a second one.
    (It is a pseudonym, not anonymisation: phone numbers are few enough to enumerate.)
    """
    digest = hashlib.sha256(_EXTERNAL_ID_SALT + phone_e164.encode()).hexdigest()
    return f"s1-{digest[:24]}"


def upload_fields(row: Row) -> tuple[str, ...]:
    """The row as it is uploaded: the base four (``UPLOAD_HEADER``), then the mapped
    fields beyond them (``row.extra``, made safe when it was filled).

    Lists get exported and opened in spreadsheets too, so no cell may run as a formula.
    (An E.164 number is a number to a spreadsheet: it passes as it is.)
    """
    base = (neutralize(row.external_id), row.phone, neutralize(row.first_name),
            neutralize(row.last_name))
    return base if row.extra is None else (*base, *row.extra)


def upload_line(row: Row) -> str:
    """The row's line in the upload file (:func:`upload_fields`), made once per row."""
    line = row.upload
    if line is None:
        line = row.upload = csv_line(upload_fields(row))
    return line


def record_chars(fields: tuple[str, ...]) -> int:
    """Characters of ``fields`` as one CSV line (without its line ending), quoting included."""
    return len(csv_line(fields))


def row_bytes_bound(row: Row) -> int:
    """Bytes the row can take in the upload file: 4 per character (UTF-8's worst), CRLF."""
    return len(upload_line(row)) * 4 + 2


def render_csv(rows: list[Row], header: tuple[str, ...] = UPLOAD_HEADER) -> bytes:
    """The UTF-8 CSV file of ``rows``, header first, as CXone takes it."""
    lines = [csv_line(header)]
    lines += [row.upload or upload_line(row) for row in rows]
    lines.append("")  # the last line's CRLF
    return "\r\n".join(lines).encode("utf-8")
