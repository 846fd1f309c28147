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

import codecs
import csv
import gzip
import io
import itertools
import os
import re
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

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

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE's, which it starts with
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: cp1252 with its five undefined bytes read as the Latin-1 controls they stand for, as
#: WHATWG's windows-1252 does: one stray 0x81 must not stop the run of a file otherwise fine.
_WINDOWS_1252 = "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in range(256))

_GZIP_MAGIC = b"\x1f\x8b"
_FORMATS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook? save the sheet as CSV)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (save the sheet as CSV)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (extract the CSV first)"),
)
# Text has next to no C0 controls besides tab and line ends; random bytes are 11 % them.
_CONTROL = re.compile("[\x01-\x08\x0e-\x1f\x7f]")
_BINARY_SHARE = 0.05
_BINARY_MIN = 8
_SELF_CHECKING = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")

_SHOWN_COLUMNS = 20
_SHOWN_NAME_CHARS = 40


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


class _Unreadable(Exception):
    """The bytes stopped being readable text; caught and reworded by :class:`CsvSource`."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


class _Decoder:
    """Bytes to text, a block at a time, for one file.

    Strict, except for "auto" reading UTF-8 (``lenient``). There, while nothing but ASCII
    has been read, the first byte that is not UTF-8 makes the whole file windows-1252 (a
    cp1252 file is plain ASCII up to its first accented letter, which may be gigabytes
    in); once real UTF-8 has been read, each bad sequence alone is read as windows-1252.
    A strict decoder that meets bad bytes returns the text before them and sets
    ``error``: the lines before them are still parsed, so the error names the record
    that holds them, not one a block earlier.
    """

    def __init__(
        self, codec: str, hint: str = "", *, lenient: bool = False, ascii_so_far: bool = False
    ) -> None:
        self.codec = codec
        self.hint = hint
        self.fallbacks = 0  # invalid UTF-8 sequences read as windows-1252
        self.error: str | None = None
        self._lenient = lenient
        self._ascii_so_far = ascii_so_far
        errors = _FALLBACK if lenient and not ascii_so_far else "strict"
        self._incremental = (
            None if codec == "cp1252" else codecs.getincrementaldecoder(codec)(errors)
        )

    def decode(self, data: bytes, *, final: bool) -> str:
        if self._incremental is None:
            return _decode_1252(data)
        before = _fallback_count()
        try:
            text = self._incremental.decode(data, final)
        except UnicodeDecodeError as error:
            text = self._recover(error, final=final)
        except (UnicodeError, ValueError, TypeError):
            # Odd codecs a user may name (punycode, idna) fail in their own ways.
            self.error = f"not {self.codec.upper()} text"
            return ""
        self.fallbacks += _fallback_count() - before
        if self._ascii_so_far and not text.isascii():
            self._ascii_so_far = False
            if self._lenient and self._incremental is not None:
                self._incremental.errors = _FALLBACK
        return text

    def _recover(self, error: UnicodeDecodeError, *, final: bool) -> str:
        if self._lenient:  # still strict: nothing but ASCII has been read
            assert self._incremental is not None
            good = error.object[: error.start].decode("utf-8")
            if good.isascii():
                self.codec = "cp1252"
                self._incremental = None
                return good + _decode_1252(error.object[error.start :])
            self._ascii_so_far = False
            self._incremental.reset()  # error.object holds what it had buffered
            self._incremental.errors = _FALLBACK
            return self._incremental.decode(error.object, final)
        self.error = f"not {self.codec.upper()} text"
        try:
            return error.object[: error.start].decode(self.codec)
        except (UnicodeError, ValueError, TypeError):  # a stateful codec: no prefix then
            return ""


# Each invalid sequence costs one call, and the decoder goes on where it stopped: retrying
# the rest of a block after each one would be quadratic in a block full of them.
_FALLBACK = "streamer.windows-1252"
_fallbacks = threading.local()  # handler calls per thread: a decoder runs in one at a time


def _fallback_count() -> int:
    return getattr(_fallbacks, "count", 0)


def _read_as_windows_1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8, read as windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _fallbacks.count = _fallback_count() + 1
    return _decode_1252(error.object[error.start : error.end]), error.end


codecs.register_error(_FALLBACK, _read_as_windows_1252)


def _decode_1252(data: bytes) -> str:
    return codecs.charmap_decode(data, "strict", _WINDOWS_1252)[0]


def _split_lines(text: str) -> list[str]:
    """``text``, which ends with a line break, cut into lines where csv cuts them."""
    for char in _OTHER_BREAKS:
        if char in text:
            return _LINE.findall(text)
    return text.splitlines(keepends=True)


def _utf16_without_bom(head: bytes) -> str | None:
    """"utf-16-le" or "-be" when ``head`` looks like UTF-16 text with no byte-order mark.

    Text in a Latin script written as UTF-16 has a NUL in every other byte and hardly
    any in the others; neither binary data nor a CSV with a few stray NULs looks so.
    """
    sample = head[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 4:
        return None
    even_nuls, odd_nuls = even.count(0), odd.count(0)
    if odd_nuls > 0.4 * len(odd) and even_nuls < 0.05 * len(even):
        return "utf-16-le"
    if even_nuls > 0.4 * len(even) and odd_nuls < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _choose_decoder(head: bytes, wanted: str) -> tuple[_Decoder, int]:
    """The decoder for a file that starts with ``head``, and how many bytes of BOM to skip."""
    bom = next(((mark, codec) for mark, codec in _BOMS if head.startswith(mark)), None)
    if wanted == "auto":
        if bom is not None:
            mark, codec = bom
            # A UTF-8 mark says the file was written as UTF-8: a bad byte later is
            # damage, not a sign of cp1252, so it never switches the whole file.
            return _Decoder(codec, f"; its byte-order mark says {codec.upper()}",
                            lenient=codec == "utf-8"), len(mark)
        guessed = _utf16_without_bom(head)
        if guessed is not None:
            return _Decoder(guessed, f"; it looked like {guessed.upper()}: name its "
                            "encoding with --encoding"), 0
        return _Decoder("utf-8", lenient=True, ascii_so_far=True), 0
    info = codecs.lookup(wanted)  # Settings has checked that it exists
    if not info._is_text_encoding:
        raise InputError(f"--encoding {wanted}: not a text encoding")
    hint = "; is it in another encoding? (--encoding auto guesses)"
    name = {"utf-8-sig": "utf-8", "iso8859-1": "latin-1"}.get(info.name, info.name)
    if name == "utf-8":
        return _Decoder(name, hint), len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    if name in ("utf-16", "utf-32"):
        # Resolved here to the byte order, so that a decode error can be located.
        if bom is not None and bom[1].startswith(name):
            return _Decoder(bom[1], hint), len(bom[0])
        guessed = _utf16_without_bom(head) if name == "utf-16" else None
        return _Decoder(guessed or f"{name}-le", hint), 0
    return _Decoder(name, hint), 0


def _binary_format(head: bytes) -> str | None:
    """What a file that is not text at all seems to be, from its first bytes."""
    for magic, kind in _FORMATS:
        if head.startswith(magic):
            return kind
    if head[257:262] == b"ustar":
        return "a tar archive (extract the CSV first)"
    return None


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
        self._decoder: _Decoder | None = None
        self._reader: Iterator[list[str]] | None = None
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
            if self._binary.peek(len(_GZIP_MAGIC)).startswith(_GZIP_MAGIC):
                self._stream = gzip.GzipFile(fileobj=self._binary, mode="rb")
                self.compression = "gzip"
            head = self._read_block(_HEAD_BYTES)
        except OSError as error:  # from peek(); _read_block words its own
            raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
        except _Unreadable as error:
            raise InputError(f"{path}: {error.what}") from None
        kind = _binary_format(head)
        if head and self.compression is None:
            self.estimated_rows = self.size * head.count(b"\n") // len(head)
        if kind is not None:
            raise InputError(f"{path}: not a text CSV file; it looks like {kind}")
        self._decoder, skip = _choose_decoder(head, settings.encoding)
        self._at_eof = not head
        text = self._decode(head[skip:], final=self._at_eof)
        if text.startswith("\ufeff"):  # a mark the codec keeps (e.g. --encoding utf-16-le)
            text = text[1:]
        sample = text[:_SNIFF_CHARS]
        # Bytes that were valid UTF-8 or UTF-16 are text, whatever odd characters they
        # hold; bytes read as a single-byte code page may be anything at all.
        validated = self._decoder.codec in _SELF_CHECKING and not self._decoder.fallbacks
        controls = 0 if validated else len(_CONTROL.findall(sample))
        if controls > max(_BINARY_SHARE * len(sample), _BINARY_MIN):
            raise InputError(f"{path}: not a text CSV file; it looks like binary data "
                             f"({controls:,} control characters in its first "
                             f"{len(sample):,})")
        # Process-wide, but only ever raised from csv's 128 KiB default, which stops
        # legitimate files; a field over this is a quote never closed (see _read_batch).
        csv.field_size_limit(FIELD_LIMIT)
        lines = itertools.chain.from_iterable(self._lines(text))
        self._reader = csv.reader(lines, delimiter=self._choose_delimiter(sample))
        if settings.has_header:
            self._in_header = True
            header = self._next_fields()
            self._in_header = False
            if header is None:
                raise InputError(f"{path}: the file is empty")
        else:
            assert settings.column_names is not None  # Settings guarantees it
            header = list(settings.column_names)
        try:
            self.columns = map_columns(tuple(h.strip() for h in header), settings.columns)
        except InputError as error:
            raise InputError(f"{path}: {error}") from None

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
                raise _Unreadable(f"corrupt or truncated {self.compression} data ({error})"
                                  ) from None
            raise _Unreadable(f"cannot read ({getattr(error, 'strerror', None) or error})"
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
                    raise _Unreadable(f"a line longer than {_LIMIT_TEXT} with no line break")
            if decoder.error is not None:
                raise _Unreadable(decoder.error, decoder.hint)
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
        except _Unreadable as error:
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

    async def batches(self) -> AsyncIterator[RowBatch]:
        """Rows in batches of ``settings.chunk_rows``."""
        size = self._settings.chunk_rows
        while batch := self._read_batch(size):
            yield batch
            await anyio.lowlevel.checkpoint()
