"""A run's memory and what it leaves behind: the journal that makes it resumable, the
audit log, the per-row files and the report (JSON and HTML), and the webhook."""

from streamer.run._audit import audit_logger, open_audit_log
from streamer.run._html import render_text, summary_line, write_html
from streamer.run._journal import Journal
from streamer.run._local_io import writing
from streamer.run._out_dir import claim_out_dir
from streamer.run._outputs import Timeline, finish_run
from streamer.run._report import Report
from streamer.run._resume import drop_settled, fingerprint_file, stopped

__all__ = [
    "Journal",
    "Report",
    "Timeline",
    "audit_logger",
    "claim_out_dir",
    "drop_settled",
    "fingerprint_file",
    "finish_run",
    "open_audit_log",
    "render_text",
    "stopped",
    "summary_line",
    "write_html",
    "writing",
]
