"""Campaign rules: what an otherwise well-formed row must satisfy to be uploaded."""

from __future__ import annotations

from streamer.batching import derive_external_id, record_chars, upload_fields
from streamer.limits import MAX_RECORD_CHARS
from streamer.reader import ColumnMap
from streamer.records import ReasonCode, RowBatch


def apply_rules(batch: RowBatch, columns: ColumnMap) -> RowBatch:
    """Give each live row its external id, and reject rows the campaign cannot take."""
    for row in batch:
        if row.reason is not None:
            continue
        if columns.external_id is not None:
            if not row.external_id:
                row.reason = ReasonCode.MISSING_EXTERNAL_ID
                continue
        else:
            row.external_id = derive_external_id(row.phone)
        if record_chars(upload_fields(row)) > MAX_RECORD_CHARS:
            row.reason = ReasonCode.RECORD_TOO_LONG
    return batch
