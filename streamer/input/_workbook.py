"""The workbook source: one sheet of an ``.xlsx`` workbook, streamed in batches of rows.

Read with openpyxl in read-only mode, which parses the sheet's XML as it goes, so memory
stays flat however many rows the sheet holds (python-calamine reads several times faster
but holds the whole sheet: ``python -m benchmarks.xlsx_reading``, figures in the README).
Cells become the text a person sees in them (:mod:`streamer.input._cells`), and from there
on a row is a row: numbered from 1 after the header, wholly blank rows skipped and not
numbered, as the CSV source does with blank lines.

openpyxl parses a few thousand rows a second, so a batch is read in slices with the event
loop given a turn between them: uploads in flight are never kept waiting long.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import AsyncIterator, Collection, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.etree.ElementTree import ParseError

import anyio.lowlevel
import anyio.to_thread

from streamer.errors import InputError
from streamer.fields import ColumnMap
from streamer.input._cells import cell_text
from streamer.input._columns import file_columns
from streamer.input._source import record_place
from streamer.records import RecordPlace, Row, RowBatch
from streamer.settings import Settings

#: Names a workbook is recognised by, besides the ZIP's magic bytes.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003, and encrypted workbooks
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")  # a stream only an encrypted one holds
_SLICE_ROWS = 256  # rows parsed between two turns of the event loop (~50 ms)
# What a sheet damaged past its start raises while it is parsed: zipfile's, zlib's and the
# XML parser's errors, and openpyxl's own on cells it cannot make sense of.
_DAMAGE = (zipfile.BadZipFile, zlib.error, ParseError, KeyError, ValueError, TypeError,
           EOFError, OSError, IndexError)


def is_workbook(path: Path) -> bool:
    """Whether ``path`` is read as a workbook: by its name, or by its first bytes (a ZIP).

    An Excel 97-2003 workbook, or one encrypted with a password (not a ZIP at all, but
    the older format's container), stops here with one line saying what to do; an
    ``.xls`` file that holds text, as some exports do, is read as the CSV it is. What is
    not a regular file (missing, a directory, a pipe) is left to the CSV source to tell:
    a ZIP is read from its end, so a workbook must be a file.
    """
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as file:
            head = file.read(64 * 1024)
    except OSError:
        return False  # the CSV source says why it cannot be opened
    suffix = path.suffix.lower()
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTED in head or suffix in WORKBOOK_SUFFIXES:
            raise InputError(f"{path}: the workbook is protected by a password; remove the "
                             "password in Excel (File > Info > Protect Workbook) or save "
                             "the sheet as CSV")
        raise InputError(f"{path}: an Excel 97-2003 workbook (.xls) cannot be read; save "
                         "it as .xlsx (or the sheet as CSV)")
    return suffix in WORKBOOK_SUFFIXES or head.startswith(ZIP_MAGIC)


class _CountingFile(io.RawIOBase):
    """The workbook file, counting the bytes read from it (for progress)."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed with this object
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._file.readinto(buffer)
        self.bytes_read += count
        return count

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()
        super().close()


class XlsxSource:
    """One sheet of a workbook: its columns, and its rows streamed in batches.

    Used as :class:`~streamer.input.CsvSource` is. ``sheet`` is the sheet read (the first
    worksheet, or ``settings.sheet``); ``size`` is the file's size, and ``bytes_read`` the
    share of the sheet's compressed data read so far, in bytes of the file, so a progress
    display shows the share of the work done.
    """

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self._settings = settings
        self._file: _CountingFile | None = None
        self._workbook: Any = None  # openpyxl's, which is untyped
        self._rows: Iterator[tuple[object, ...]] | None = None
        self._sheet_row = 0  # the sheet's rows met so far, blank ones included
        self._width = 0
        self._sheet_bytes = 0
        self._bytes_before_sheet = 0
        self.sheet = ""
        self.columns: ColumnMap | None = None
        self.size = 0
        self.estimated_rows = 0
        self.rows_read = 0
        self.compression: str | None = None
        self.encoding = ""  # a workbook's text is Unicode; there is no encoding to guess
        self.nuls_removed = 0

    @property
    def bytes_read(self) -> int:
        if self._file is None or not self._sheet_bytes:
            return 0
        share = min((self._file.bytes_read - self._bytes_before_sheet) / self._sheet_bytes, 1)
        return int(self.size * share)

    def reading(self) -> dict[str, object]:
        """How the file was read, for the report."""
        return {"format": "xlsx", "sheet": self.sheet}

    async def __aenter__(self) -> XlsxSource:
        await anyio.to_thread.run_sync(self._open)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._close()

    def _close(self) -> None:
        if self._workbook is not None:
            self._workbook.close()
        if self._file is not None:
            self._file.close()

    def _open(self) -> None:
        try:
            self._file = _CountingFile(self.path)
        except OSError as error:
            raise InputError(f"{self.path}: cannot open ({error.strerror})") from None
        try:
            self._prepare()
        except BaseException:
            self._close()
            raise

    def _prepare(self) -> None:
        from openpyxl import load_workbook  # its import costs ~0.2 s: only for workbooks

        path, settings = self.path, self._settings
        assert self._file is not None
        self.size = os.fstat(self._file.fileno()).st_size
        try:
            self._workbook = load_workbook(self._file, read_only=True, data_only=True)
        except Exception as error:  # a zoo: zipfile's, the XML parser's, openpyxl's own
            raise InputError(f"{path}: not a readable .xlsx workbook ({_words(error)})") from None
        sheet = self._choose_sheet()
        self._sheet_bytes = _compressed_size(self._workbook, sheet)
        self._bytes_before_sheet = self._file.bytes_read
        self.sheet = sheet.title
        self.estimated_rows = max((sheet.max_row or 1) - 1, 0)
        self._rows = sheet.iter_rows(values_only=True)
        if settings.has_header:
            header = self._next_fields()
            if header is None:
                raise InputError(f"{path}: the sheet {self.sheet!r} is empty")
        else:
            assert settings.column_names is not None  # Settings guarantees it
            header = list(settings.column_names)
        self._width = len(header)
        self.columns = file_columns(path, header, settings)

    def _choose_sheet(self) -> Any:
        workbook, wanted = self._workbook, self._settings.sheet
        sheets = workbook.worksheets  # worksheets only: a chart sheet holds no rows
        if not sheets:
            raise InputError(f"{self.path}: the workbook has no worksheet")
        if wanted is None:
            return sheets[0]
        by_name = {sheet.title: sheet for sheet in sheets}
        folded = [s for s in sheets if s.title.strip().casefold() == wanted.strip().casefold()]
        if wanted in by_name:
            return by_name[wanted]
        if len(folded) == 1:  # Excel itself takes sheet names in any case
            return folded[0]
        names = ", ".join(repr(title) for title in by_name)
        raise InputError(f"{self.path}: no sheet named {wanted!r}; its sheets: {names}")

    def _next_fields(self) -> list[str] | None:
        """The next row that is not wholly blank, as text, or ``None`` after the last."""
        assert self._rows is not None
        try:
            for cells in self._rows:
                self._sheet_row += 1
                fields = [cell_text(cell) for cell in cells]
                while fields and not fields[-1]:
                    fields.pop()
                if fields:
                    return fields
        except _DAMAGE as error:
            where = f"record {self.rows_read + 1}" if self._width else "the header"
            raise InputError(f"{self.path}: the workbook is damaged near {where} "
                             f"({_words(error)})") from None
        return None

    def _read_slice(self, size: int) -> RowBatch:
        """Up to ``size`` records, each as wide as the header (or wider, when cells stand
        past it: that row is then malformed, as a CSV line with too many fields is)."""
        batch: RowBatch = []
        width = self._width
        while len(batch) < size and (fields := self._next_fields()) is not None:
            if len(fields) < width:
                fields += [""] * (width - len(fields))
            self.rows_read += 1
            batch.append(Row(self.rows_read, fields))
        return batch

    async def locate(self, records: Collection[int]) -> dict[int, RecordPlace]:
        """Where these records sit in the sheet (the row number Excel shows) and their
        phone, email and name as written: the sheet read again, up to the last of them."""
        async with XlsxSource(self.path, self._settings) as again:
            return await anyio.to_thread.run_sync(again._find, frozenset(records))

    def _find(self, wanted: frozenset[int]) -> dict[int, RecordPlace]:
        assert self.columns is not None
        found: dict[int, RecordPlace] = {}
        last = max(wanted, default=0)
        try:
            while self.rows_read < last and (fields := self._next_fields()) is not None:
                self.rows_read += 1
                if self.rows_read in wanted:
                    found[self.rows_read] = record_place(self._sheet_row, fields, self.columns)
        except InputError:
            pass  # the run itself stopped there and said why
        return found

    async def batches(self) -> AsyncIterator[RowBatch]:
        """Rows in batches of ``settings.chunk_rows``."""
        size = self._settings.chunk_rows
        ended = False
        while not ended:
            batch: RowBatch = []
            while len(batch) < size and not ended:
                wanted = min(_SLICE_ROWS, size - len(batch))
                part = self._read_slice(wanted)
                batch += part
                ended = len(part) < wanted
                await anyio.lowlevel.checkpoint()
            if batch:
                yield batch


def _compressed_size(workbook: Any, sheet: Any) -> int:
    """The sheet's bytes in the file, or 0 (no share shown) if openpyxl's insides moved."""
    try:
        return int(workbook._archive.getinfo(sheet._worksheet_path).compress_size)
    except (AttributeError, KeyError):
        return 0


def _words(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
