"""Reading the contacts file: open it, tell its encoding and delimiter, find the columns,
and stream its records in batches (:class:`CsvSource`)."""

from streamer.input._columns import map_columns, sniff_delimiter
from streamer.input._source import FIELD_LIMIT, CsvSource, check_source
from streamer.records import header_key

__all__ = [
    "FIELD_LIMIT", "CsvSource", "check_source", "header_key", "map_columns", "sniff_delimiter",
]
