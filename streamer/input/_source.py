"""The CSV source: opens the file, finds the columns, and streams rows in batches.

Parsing runs one batch at a time on the event loop, yielding to it between batches (a
few milliseconds each): a worker thread would add no parallelism (the GIL), and its
thread would make every GIL hand-off elsewhere in the process (SQLite's, the sockets')
wait for the thread's switch interval. A hop per line (``aiofiles`` readline) would cap
throughput at a few thousand rows a second. Only one batch is ever held, so memory stays
flat whatever the file size.

Bytes become text a block at a time, not through ``io.TextIOWrapper``, so that the
encoding can follow what the file holds, gzip is read transparently, NUL bytes are dropped,
and a stranger's worst files (binary data, a line that never ends, a quote never closed)
stop the run with one line saying where, instead of a traceback or a silently swallowed
tail. csv.reader still does all per-line work in C: it reads each block's list of lines
through ``itertools.chain``, so no Python code runs per line.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import os
import re
import zlib
from collections.abc import AsyncIterator, Collection, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import anyio.to_thread

from streamer.errors import InputError
from streamer.fields import ColumnMap
from streamer.input._columns import file_columns, sniff_delimiter
from streamer.input._decode import (
    BINARY_MIN,
    BINARY_SHARE,
    CONTROL,
    GZIP_MAGIC,
    SELF_CHECKING,
    Decoder,
    Unreadable,
    binary_format,
    choose_decoder,
)
from streamer.records import RecordPlace, Row, RowBatch
from streamer.settings import DELIMITERS, Settings

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

#: Longest field, and longest line, read (in characters). csv's own limit, 128 KiB, stops
#: files that are merely odd; a field over this one is a quote never closed.
FIELD_LIMIT = 16 * 1024 * 1024
_LIMIT_TEXT = "16 MB"

_BLOCK_BYTES = 1024 * 1024  # read and decoded at a time; one block's lines are held at once
_HEAD_BYTES = 1024 * 1024  # read first, to tell the format and encoding (at least 4 bytes)
_SNIFF_CHARS = 64 * 1024  # of the first block, looked at for binary data and the delimiter

# Appended after the last line. NULs are dropped from the file's text, so this line cannot
# be data: read as a record of its own, the file ended cleanly; found at the end of a
# field, a quote opened earlier swallowed the rest of the file.
_END_FIELD = "\x00end of file\x00"
_END_LINE = _END_FIELD + "\n"

# str.splitlines also breaks lines at these, where csv does not: a block holding any of
# them is split by _LINE instead (slower, and rare).
_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def _split_lines(text: str) -> list[str]:
    """``text``, which ends with a line break, cut into lines where csv cuts them."""
    for char in _OTHER_BREAKS:
        if char in text:
            return _LINE.findall(text)
    return text.splitlines(keepends=True)



class CsvSource:
    """An open contacts file: its columns, and its rows streamed in batches.

    Use as ``async with CsvSource(path, settings) as source: async for batch in
    source.batches(): ...``. ``rows_read`` counts records (blank lines are skipped and not
    numbered, like ``csv.DictReader``); ``bytes_read`` and ``size`` feed progress displays
    (for a gzip file, both count compressed bytes).

    What was found while reading, for the audit: ``encoding`` (the codec in use;
    "cp1252" is read as WHATWG's windows-1252), ``compression`` ("gzip" or ``None``),
    ``nuls_removed`` (NUL characters dropped) and ``fallback_sequences`` (with "auto",
    invalid UTF-8 sequences in a UTF-8 file read as windows-1252).

    A file that cannot be read as a CSV raises :class:`InputError` with one line that
    says where; a row that cannot be used is left to normalize to reject.
    """

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self._settings = settings
        self._binary: io.BufferedReader | None = None
        self._stream: io.BufferedIOBase | None = None  # _binary, or gzip over it
        self._decoder: Decoder | None = None
        self._reader: CsvReader | None = None
        self._at_eof = False
        self._position = 0
        self._seekable = True
        self._in_header = False
        self.columns: ColumnMap | None = None
        self.size = 0
        #: About how many records the file holds, from its first megabyte's lines; 0 where
        #: that says nothing of the rest (a gzip file's size is not its text's).
        self.estimated_rows = 0
        self.rows_read = 0
        self.compression: str | None = None
        self.nuls_removed = 0
        self.delimiter = ""

    @property
    def bytes_read(self) -> int:
        # Counted as blocks are read (the compressed position for gzip), for progress.
        return self._position

    @property
    def encoding(self) -> str:
        return self._decoder.codec if self._decoder is not None else ""

    @property
    def fallback_sequences(self) -> int:
        return self._decoder.fallbacks if self._decoder is not None else 0

    def reading(self) -> dict[str, object]:
        """How the file was read, for the report."""
        return {"encoding": self.encoding, "delimiter": self.delimiter,
                "compression": self.compression, "nuls_removed": self.nuls_removed,
                "bytes_read_as_cp1252": self.fallback_sequences}

    async def __aenter__(self) -> CsvSource:
        await anyio.to_thread.run_sync(self._open)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        # GzipFile.close() leaves the file it reads from open.
        for stream in (self._stream, self._binary):
            if stream is not None:
                stream.close()

    def _open(self) -> None:
        path = self.path
        require_file(path)
        try:
            self._binary = open(path, "rb")  # noqa: SIM115 - closed in __aexit__
        except OSError as error:
            raise InputError(f"{path}: cannot open ({error.strerror})") from None
        try:
            self._prepare()
        except BaseException:
            self._close()
            raise

    def _prepare(self) -> None:
        """Choose the encoding and delimiter, read the header and find the columns."""
        path = self.path
        settings = self._settings
        assert self._binary is not None
        self.size = os.fstat(self._binary.fileno()).st_size
        self._seekable = self._binary.seekable()
        self._stream = self._binary
        try:
            # By content, not by name: tools gzip files and keep ".csv", and browsers
            # unpack downloads and keep ".gz". Peeked, not read and sought back: the
            # path may be a pipe, as in <(zcat contacts.csv.gz).
            if self._binary.peek(len(GZIP_MAGIC)).startswith(GZIP_MAGIC):
                self._stream = gzip.GzipFile(fileobj=self._binary, mode="rb")
                self.compression = "gzip"
            head = self._read_block(_HEAD_BYTES)
        except OSError as error:  # from peek(); _read_block words its own
            raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
        except Unreadable as error:
            raise InputError(f"{path}: {error.what}") from None
        kind = binary_format(head)
        if head and self.compression is None:
            self.estimated_rows = self.size * head.count(b"\n") // len(head)
        if kind is not None:
            raise InputError(f"{path}: not a text CSV file; it looks like {kind}")
        self._decoder, skip = choose_decoder(head, settings.encoding)
        self._at_eof = not head
        text = self._decode(head[skip:], final=self._at_eof)
        if text.startswith("\ufeff"):  # a mark the codec keeps (e.g. --encoding utf-16-le)
            text = text[1:]
        sample = text[:_SNIFF_CHARS]
        # Bytes that were valid UTF-8 or UTF-16 are text, whatever odd characters they
        # hold; bytes read as a single-byte code page may be anything at all.
        validated = self._decoder.codec in SELF_CHECKING and not self._decoder.fallbacks
        controls = 0 if validated else len(CONTROL.findall(sample))
        if controls > max(BINARY_SHARE * len(sample), BINARY_MIN):
            raise InputError(f"{path}: not a text CSV file; it looks like binary data "
                             f"({controls:,} control characters in its first "
                             f"{len(sample):,})")
        # Process-wide, but only ever raised from csv's 128 KiB default, which stops
        # legitimate files; a field over this is a quote never closed (see _read_batch).
        csv.field_size_limit(FIELD_LIMIT)
        lines = itertools.chain.from_iterable(self._lines(text))
        self.delimiter = self._choose_delimiter(sample)
        self._reader = csv.reader(lines, delimiter=self.delimiter)
        if settings.has_header:
            self._in_header = True
            header = self._next_fields()
            self._in_header = False
            if header is None:
                raise InputError(f"{path}: the file is empty")
        else:
            assert settings.column_names is not None  # Settings guarantees it
            header = list(settings.column_names)
        self.columns = file_columns(path, header, settings)

    def _choose_delimiter(self, sample: str) -> str:
        if self._settings.delimiter != "auto":
            return DELIMITERS[self._settings.delimiter]
        first_line = next((line for line in sample.splitlines() if line.strip()), "")
        return sniff_delimiter(first_line)

    def _read_block(self, size: int) -> bytes:
        assert self._stream is not None and self._binary is not None
        try:
            data = self._stream.read(size)
        except (OSError, EOFError, zlib.error) as error:
            if self.compression:
                raise Unreadable(f"corrupt or truncated {self.compression} data ({error})"
                                  ) from None
            raise Unreadable(f"cannot read ({getattr(error, 'strerror', None) or error})"
                              ) from None
        if self._seekable:
            self._position = self._binary.tell()  # for gzip, the compressed position
        else:  # a pipe has no position to tell, nor a size to compare it with
            self._position += len(data)
        return data

    def _decode(self, data: bytes, *, final: bool) -> str:
        assert self._decoder is not None
        text = self._decoder.decode(data, final=final)
        if "\x00" in text:
            # NULs are padding or damage, never contact data; dropping them also keeps
            # _END_LINE unique.
            self.nuls_removed += text.count("\x00")
            text = text.replace("\x00", "")
        return text

    def _lines(self, text: str) -> Iterator[list[str]]:
        """The file's lines a block at a time (``text`` is the first), then ``_END_LINE``.

        A block is cut after its last line break and the unfinished line waits for the
        next block, so CR LF is never split (csv would take it for two line ends).
        """
        decoder = self._decoder
        assert decoder is not None
        held: list[str] = []  # an unfinished line, in pieces: a long line is joined once
        held_chars = 0
        while True:
            if held and text and held[-1][-1] == "\r" and text[0] != "\n":
                yield ["".join(held)]  # a CR that ended one block ended its line
                held, held_chars = [], 0
            end = len(text)
            cut = max(text.rfind("\n"), text.rfind("\r", 0, end - 1)) + 1
            if cut:
                if held:
                    held.append(text)
                    text = "".join(held)
                    cut += held_chars
                    end = len(text)
                    held, held_chars = [], 0
                yield _split_lines(text[:cut] if cut < end else text)
                text = text[cut:]
            if text:
                held.append(text)
                held_chars += len(text)
                if held_chars > FIELD_LIMIT:
                    raise Unreadable(f"a line longer than {_LIMIT_TEXT} with no line break")
            if decoder.error is not None:
                raise Unreadable(decoder.error, decoder.hint)
            if self._at_eof:
                break
            data = self._read_block(_BLOCK_BYTES)
            self._at_eof = not data
            text = self._decode(data, final=self._at_eof)
        if held:
            yield ["".join(held)]
        yield [_END_LINE]

    def _where(self, record: int) -> str:
        return "the header" if self._in_header else f"record {record}"

    def _next_fields(self) -> list[str] | None:
        """The next non-blank record's fields, or ``None`` at the end of the file."""
        batch = self._read_batch(1, count=False)
        return batch[0].fields if batch else None

    def _read_batch(self, size: int, *, count: bool = True) -> RowBatch:
        """Up to ``size`` records; blank lines are skipped and not numbered."""
        assert self._reader is not None
        path = self.path
        batch: RowBatch = []
        record = self.rows_read
        try:
            for fields in self._reader:
                if fields:
                    record += 1
                    batch.append(Row(record, fields))
                    if len(batch) >= size:
                        break
        except Unreadable as error:
            where = self._where(record + 1)
            raise InputError(f"{path}: {error.what} near {where}{error.hint}") from None
        except csv.Error as error:
            where = self._where(record + 1)
            if "field limit" in str(error):
                raise InputError(f"{path}: {where}: a field is longer than {_LIMIT_TEXT}; "
                                 "a quote opened there is probably never closed") from None
            raise InputError(f"{path}: {where}: {error}") from None
        # _END_LINE is the last line, so only a batch's last row can hold it.
        if batch and batch[-1].fields[-1] == _END_FIELD:
            batch.pop()
            record -= 1
        elif batch and batch[-1].fields[-1].endswith(_END_LINE):
            where = self._where(batch[-1].record)
            raise InputError(f"{path}: {where}: a quote opened there is never closed, so "
                             "the rest of the file would be one field") from None
        if count:
            self.rows_read = record
        return batch

    async def locate(self, records: Collection[int]) -> dict[int, RecordPlace]:
        """Where these records sit in the file (the row a spreadsheet shows each on) and
        their phone, email and name as written: the file read again from the start, up to
        the last of them, keeping nothing but these. The run does not count blank lines
        (that would cost every row something), so the few records a report shows are
        looked up here at the end."""
        async with CsvSource(self.path, self._settings) as again:
            return await anyio.to_thread.run_sync(again._find, frozenset(records))

    def _find(self, wanted: frozenset[int]) -> dict[int, RecordPlace]:
        assert self._reader is not None and self.columns is not None
        columns, last = self.columns, max(wanted, default=0)
        found: dict[int, RecordPlace] = {}
        # csv.reader yields [] for a blank line: a row in a spreadsheet, not a record.
        sheet_row, record = self._reader.line_num, 0  # the header's lines so far
        try:
            for fields in self._reader:
                if record >= last or fields[-1:] == [_END_FIELD]:
                    break
                sheet_row += 1
                if fields:
                    record += 1
                    if record in wanted:
                        found[record] = record_place(sheet_row, fields, columns)
        except (Unreadable, csv.Error):
            pass  # the run itself stopped there and said why
        return found

    async def batches(self) -> AsyncIterator[RowBatch]:
        """Rows in batches of ``settings.chunk_rows``."""
        size = self._settings.chunk_rows
        while batch := self._read_batch(size):
            yield batch
            await anyio.lowlevel.checkpoint()


def record_place(sheet_row: int, fields: list[str], columns: ColumnMap) -> RecordPlace:
    """Where a record sits (its spreadsheet row) and its phone, email and name as written."""
    def value(at: int | None) -> str:
        return fields[at].strip() if at is not None and at < len(fields) else ""

    name = " ".join(filter(None, (value(columns.first_name), value(columns.last_name))))
    return RecordPlace(sheet_row, value(columns.phone), value(columns.email), name)


def require_file(path: Path) -> None:
    """A one-line error for a path that is no file to read."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a contacts file")
