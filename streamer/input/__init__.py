"""Reading the contacts file: open it, tell its format, encoding and delimiter, find the
columns, and stream its records in batches (:class:`CsvSource`, or :class:`XlsxSource`
for one sheet of a workbook; :func:`open_source` picks)."""

from pathlib import Path

import anyio
import anyio.to_thread

from streamer.errors import InputError
from streamer.input._columns import map_columns, sniff_delimiter
from streamer.input._source import FIELD_LIMIT, CsvSource, require_file
from streamer.input._workbook import XlsxSource, is_workbook
from streamer.records import header_key
from streamer.settings import Settings

#: An open contacts file, whichever its format: what the pipeline reads rows from.
Source = CsvSource | XlsxSource

__all__ = ["FIELD_LIMIT", "CsvSource", "Source", "XlsxSource", "check_source", "header_key",
           "map_columns", "open_source", "sniff_delimiter"]


def open_source(path: Path, settings: Settings) -> Source:
    """The source for ``path``: a workbook (by its name or its ZIP bytes) or a CSV file."""
    if is_workbook(path):
        return XlsxSource(path, settings)
    if settings.sheet is not None:
        raise InputError(f"{path}: a sheet is named (--sheet {settings.sheet}), but this is "
                         "not an .xlsx workbook")
    return CsvSource(path, settings)


async def check_source(path: Path, settings: Settings) -> None:
    """Refuse now what opening ``path`` for the run would refuse (no such file, not text,
    not a workbook, no phone column, ...), before anything else starts. A pipe
    (``<(zcat f.gz)``) is only checked to exist: reading its head would take it from the run."""
    if await anyio.Path(path).is_file():
        async with open_source(path, settings):
            return
    await anyio.to_thread.run_sync(require_file, path)
