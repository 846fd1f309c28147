"""Bytes to text for a file of unknown origin: byte-order marks, UTF-16 without one,
windows-1252 where UTF-8 fails, and files that are not text at all."""

from __future__ import annotations

import codecs
import re
import threading

from streamer.errors import InputError

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

GZIP_MAGIC = b"\x1f\x8b"
_FORMATS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    # Met only through a pipe or gzip: a workbook given as a file is read as one.
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook? give it as a file, uncompressed)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (save the sheet as CSV)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (extract the CSV first)"),
)
# Text has next to no C0 controls besides tab and line ends; random bytes are 11 % them.
CONTROL = re.compile("[\x01-\x08\x0e-\x1f\x7f]")
BINARY_SHARE = 0.05
BINARY_MIN = 8
SELF_CHECKING = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


class Unreadable(Exception):
    """The bytes stopped being readable text; caught and reworded by the CSV source."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


class Decoder:
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


def choose_decoder(head: bytes, wanted: str) -> tuple[Decoder, int]:
    """The decoder for a file that starts with ``head``, and how many bytes of BOM to skip."""
    bom = next(((mark, codec) for mark, codec in _BOMS if head.startswith(mark)), None)
    if wanted == "auto":
        if bom is not None:
            mark, codec = bom
            # A UTF-8 mark says the file was written as UTF-8: a bad byte later is
            # damage, not a sign of cp1252, so it never switches the whole file.
            return Decoder(codec, f"; its byte-order mark says {codec.upper()}",
                            lenient=codec == "utf-8"), len(mark)
        guessed = _utf16_without_bom(head)
        if guessed is not None:
            return Decoder(guessed, f"; it looked like {guessed.upper()}: name its "
                            "encoding (--encoding / Settings.encoding)"), 0
        return Decoder("utf-8", lenient=True, ascii_so_far=True), 0
    info = codecs.lookup(wanted)  # Settings has checked that it exists
    if not info._is_text_encoding:
        raise InputError(f"encoding {wanted}: not a text encoding (--encoding / Settings.encoding)")
    hint = "; is it in another encoding? (--encoding auto / Settings.encoding 'auto' guesses)"
    name = {"utf-8-sig": "utf-8", "iso8859-1": "latin-1"}.get(info.name, info.name)
    if name == "utf-8":
        return Decoder(name, hint), len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    if name in ("utf-16", "utf-32"):
        # Resolved here to the byte order, so that a decode error can be located.
        if bom is not None and bom[1].startswith(name):
            return Decoder(bom[1], hint), len(bom[0])
        guessed = _utf16_without_bom(head) if name == "utf-16" else None
        return Decoder(guessed or f"{name}-le", hint), 0
    return Decoder(name, hint), 0


def binary_format(head: bytes) -> str | None:
    """What a file that is not text at all seems to be, from its first bytes."""
    for magic, kind in _FORMATS:
        if head.startswith(magic):
            return kind
    if head[257:262] == b"ustar":
        return "a tar archive (extract the CSV first)"
    return None
