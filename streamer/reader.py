"""The CSV source: opens the file, finds the columns, and streams rows in batches.

Parsing runs in a worker thread one batch at a time: a thread hop per *batch* is cheap,
while a hop per line (``aiofiles`` readline) would cap throughput at a few thousand rows
a second. Only one batch is ever held, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import anyio.to_thread

from streamer.errors import InputError
from streamer.records import Row, RowBatch
from streamer.settings import DELIMITERS, Columns, Settings

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

_SNIFF_BYTES = 64 * 1024


def header_key(name: str) -> str:
    """How header names are compared: case-, space- and punctuation-insensitively."""
    return re.sub(r"[\W_]+", "", name.casefold())


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each known field sits in a row (``None``: the file has no such column)."""

    header: tuple[str, ...]
    phone: int
    email: int | None
    first_name: int | None
    last_name: int | None
    country: int | None
    external_id: int | None


def map_columns(header: tuple[str, ...], chosen: Columns) -> ColumnMap:
    """Find each field's column: the user's choice, else a usual spelling."""
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
                    f"columns found: {', '.join(header)}"
                )
            return index
        return next((by_key[k] for k in HEADER_SPELLINGS[field_name] if k in by_key), None)

    phone = find("phone")
    if phone is None:
        raise InputError(
            f"no phone column (use --phone-column); columns found: {', '.join(header)}"
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


class CsvSource:
    """An open contacts file: its columns, and its rows streamed in batches.

    Use as ``async with CsvSource(path, settings) as source: async for batch in
    source.batches(): ...``. ``rows_read`` counts records (blank lines are skipped and not
    numbered, like ``csv.DictReader``); ``bytes_read`` and ``size`` feed progress displays.
    """

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self._settings = settings
        self._binary: BinaryIO | None = None
        self._text: io.TextIOWrapper | None = None
        self._reader: csv._reader | None = None  # type: ignore[name-defined]
        self.columns: ColumnMap | None = None
        self.size = 0
        self.rows_read = 0

    @property
    def bytes_read(self) -> int:
        return self._binary.tell() if self._binary is not None and not self._binary.closed else 0

    async def __aenter__(self) -> CsvSource:
        await anyio.to_thread.run_sync(self._open)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._text is not None:
            self._text.close()

    def _open(self) -> None:
        path = self.path
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a CSV file")
        try:
            self._binary = open(path, "rb")  # noqa: SIM115 - closed in __aexit__
        except OSError as error:
            raise InputError(f"{path}: cannot open ({error.strerror})") from None
        try:
            self._prepare()
        except BaseException:
            self._binary.close()
            raise

    def _prepare(self) -> None:
        """Pick the delimiter, read the header and find the columns."""
        path = self.path
        assert self._binary is not None
        self.size = path.stat().st_size
        delimiter = self._choose_delimiter()
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text, delimiter=delimiter)
        settings = self._settings
        if settings.has_header:
            header = self._next_fields()
            if header is None:
                raise InputError(f"{path}: the file is empty")
        else:
            assert settings.column_names is not None  # Settings guarantees it
            header = list(settings.column_names)
        self.columns = map_columns(tuple(h.strip() for h in header), settings.columns)

    def _choose_delimiter(self) -> str:
        if self._settings.delimiter != "auto":
            return DELIMITERS[self._settings.delimiter]
        assert self._binary is not None
        head = self._binary.read(_SNIFF_BYTES)
        self._binary.seek(0)
        first_line = head.decode("utf-8-sig", errors="replace").splitlines()[:1]
        return sniff_delimiter(first_line[0]) if first_line else ","

    def _next_fields(self) -> list[str] | None:
        """The next non-blank record's fields, or ``None`` at the end of the file."""
        batch = self._read_batch(1, count=False)
        return batch[0].fields if batch else None

    def _read_batch(self, size: int, *, count: bool = True) -> RowBatch:
        """Up to ``size`` records; blank lines are skipped and not numbered."""
        assert self._reader is not None
        batch: RowBatch = []
        record = self.rows_read
        try:
            for fields in self._reader:
                if fields:
                    record += 1
                    batch.append(Row(record, fields))
                    if len(batch) >= size:
                        break
        except UnicodeDecodeError:
            raise InputError(f"{self.path}: not UTF-8 text near record {record + 1}") from None
        except csv.Error as error:
            raise InputError(f"{self.path}: record {record + 1}: {error}") from None
        if count:
            self.rows_read = record
        return batch

    async def batches(self) -> AsyncIterator[RowBatch]:
        """Rows in batches of ``settings.chunk_rows``, parsed in a worker thread."""
        size = self._settings.chunk_rows
        while batch := await anyio.to_thread.run_sync(self._read_batch, size):
            yield batch
