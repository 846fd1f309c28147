"""The run report people look at: one self-contained HTML page, a terminal summary, and
the lines the command line prints while a run goes (progress) and when it ends.

Built only from ``report.json``, so ``python -m streamer report OUT`` can rebuild both
at any time. Charts are inline SVG drawn here: the page needs no network, no script and
no plotting library, and every number on it is the one in ``report.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from streamer._plural import counted
from streamer.records import REASON_HELP, OutcomeKind, ReasonCode, reason_outcome
from streamer.run._charts import bars, esc, histogram, line_chart, share, timeline
from streamer.run._report import Report, write_text_atomically
from streamer.run._settings_words import in_words, settings_in_words


def _help(reason: str) -> str:
    try:
        return REASON_HELP[ReasonCode(reason)]
    except ValueError:  # missing_<column>, invalid_<field> and any reason added later
        for prefix, code in (("missing_", ReasonCode.MISSING_COLUMN),
                             ("invalid_", ReasonCode.INVALID_FIELD)):
            if reason.startswith(prefix):
                return REASON_HELP[code]
        return ""


def _field_rows(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The list fields uploaded and their columns, then what was done to their values."""
    rows = [(name, column) for name, column in (fields.get("mapped") or {}).items()]
    for name, count in (fields.get("numbers_left_out_by_field") or {}).items():
        rows.append((f"numbers left out: {name}", f"{count:,}"))
    for key, label in (("time_zones_filled", "time zones filled from the number"),
                       ("time_zones_not_filled", "time zones the number could not tell"),
                       ("mobiles_marked", "mobiles marked (Compliance)")):
        if fields.get(key):
            rows.append((label, f"{fields[key]:,}"))
    return rows


def _table(rows: Sequence[Sequence[object]], header: Sequence[str], table_id: str) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def reason_rows(report: dict[str, Any]) -> list[tuple[str, int, object, str]]:
    samples = report.get("reason_samples") or {}
    return [(reason, count, samples.get(reason, ""), _help(reason))
            for reason, count in sorted(report["reasons"].items(), key=lambda kv: -kv[1])]


def mirror_text(mirror: dict[str, Any] | None) -> str:
    """What ``--mirror`` did, in a few words ("" without it)."""
    if not mirror or not mirror.get("enabled"):
        return ""
    if mirror.get("skipped"):
        return f"not run: {mirror['skipped']}"
    if mirror.get("refused"):
        return f"refused: {mirror['refused']}"
    size, count = mirror.get("list_size", 0), mirror.get("would_remove", 0)
    if mirror.get("dry_run"):
        return f"would remove {count:,} of the list's {counted(size, 'record')}"
    failed = f", {mirror['failed']:,} could not be" if mirror.get("failed") else ""
    return f"removed {mirror.get('removed', 0):,} of the list's {counted(size, 'record')}{failed}"


def _mirror_section(mirror: dict[str, Any] | None) -> str:
    if not mirror or not mirror.get("enabled"):
        return ""
    rows = [(key.replace("_", " "), "" if value is None else value)
            for key, value in mirror.items() if key != "enabled"]
    return (f'<h2>Mirror</h2><p id="mirror-summary">{esc(mirror_text(mirror))}</p>'
            f'{_table(rows, ("", ""), "mirror")}')


_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_EXAMPLES_HEADER = ("spreadsheet row", "duplicate of row", "rule", "phone (duplicate / kept)",
                    "email (duplicate / kept)", "name (duplicate / kept)")


def _kinds(report: dict[str, Any]) -> list[str]:
    """The outcomes a run of this kind can have: a dry run accepts and cannot fail, an
    upload never merely accepts."""
    if report.get("dry_run"):
        return [OutcomeKind.ACCEPTED, OutcomeKind.DUPLICATE, OutcomeKind.REJECTED]
    return [OutcomeKind.UPLOADED, OutcomeKind.DUPLICATE, OutcomeKind.REJECTED,
            OutcomeKind.FAILED]


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _when(report: dict[str, Any]) -> str:
    started, finished = _time(report.get("started_at")), _time(report.get("finished_at"))
    if started is None:
        return "date not recorded"
    end = f" to {finished:%H:%M:%S}" if finished is not None else ""
    return f"{started:%-d %B %Y, %H:%M:%S}{end} (UTC{started:%z})".replace("UTC+0000", "UTC")


def _title(report: dict[str, Any]) -> str:
    name = report.get("input_name") or Path(str(report["input"])).name
    target = ("dry run, nothing uploaded" if report.get("dry_run")
              else f'list \u201c{report.get("list_name") or report.get("list_id")}\u201d')
    started = _time(report.get("started_at"))
    return f"{name} to {target}" + (f", {started:%-d %b %Y}" if started else "")


def _headline(report: dict[str, Any], counts: dict[str, int]) -> str:
    total = report["rows_read"]
    words = [f"{n:,} {kind} ({share(n, total)} %)" for kind, n in counts.items()]
    return f"{total:,} rows read: " + ", ".join(words) + "."


def _list_counts(report: dict[str, Any]) -> str:
    """What CXone itself says the list holds, where read-back read it."""
    verification = report.get("verification") or {}
    total = verification.get("list_total_records")
    if total is None:
        why = "a dry run" if report.get("dry_run") else "the list was not read back"
        return f"CXone's own count of the list was not read ({why})."
    parts = [f"{verification[key]:,} {word}" for key, word in (
        ("list_valid_records", "valid"), ("list_invalid_records", "invalid"))
        if verification.get(key) is not None]
    status = verification.get("list_status")
    details = "; ".join(filter(None, [", ".join(parts), f"status {status}" if status else ""]))
    return f"CXone says the list holds {total:,} records" + (f" ({details})." if details
                                                              else ".")


def _row_label(report: dict[str, Any]) -> str:
    # Older reports know records only (as does one whose input could not be read again
    # at the end): blank lines are not counted in those numbers.
    return ("first at spreadsheet row" if report.get("reason_sample_rows")
            else "first record (blank lines not counted)")


def _reason_table(report: dict[str, Any], kind: OutcomeKind, table_id: str) -> str:
    total, rows_of = report["rows_read"], report.get("reason_sample_rows") or {}
    rows = [(reason, f"{count:,}", f"{share(count, total)} %",
             rows_of.get(reason, sample) if rows_of else sample, what)
            for reason, count, sample, what in reason_rows(report)
            if reason_outcome(reason) is kind]
    if not rows:
        return f'<p id="{table_id}" class="empty">none</p>'
    return _table(rows, ("reason", "rows", "share", _row_label(report), "what to do"),
                  table_id)


def _countries_table(report: dict[str, Any]) -> str:
    countries: dict[str, dict[str, int]] = report.get("countries") or {}
    if not countries:
        return '<p id="countries" class="empty">not recorded for this run</p>'
    kinds = [kind for kind in _kinds(report) if any(kind in c for c in countries.values())]
    rows = [(country, f"{sum(counts.values()):,}",
             *(f"{counts.get(kind, 0):,} ({share(counts.get(kind, 0), sum(counts.values()))} %)"
               for kind in kinds)) for country, counts in countries.items()]
    return _table(rows, ("country", "rows", *kinds), "countries")


def _examples_table(report: dict[str, Any]) -> str:
    examples = report.get("duplicate_examples") or []
    if not examples:
        return '<p id="duplicate-examples" class="empty">none to show</p>'

    def row(side: dict[str, Any], record: object) -> object:
        return side.get("sheet_row") or f"record {record}"

    rows = [(row(e["duplicate"], e["record"]), row(e["kept"], e["duplicate_of"]), e["reason"],
             *(f'{e["duplicate"].get(key) or "-"} / {e["kept"].get(key) or "-"}'
               for key in ("phone", "email", "name")))
            for e in examples]
    return _table(rows, _EXAMPLES_HEADER, "duplicate-examples")


def _phases_section(report: dict[str, Any]) -> str:
    phases = report.get("phases") or []
    return f"<h2>Phases of the run</h2>{timeline(phases)}" if phases else ""


def _run_rows(report: dict[str, Any]) -> list[tuple[str, object]]:
    upload = report.get("upload") or {}
    verification = report.get("verification") or {}
    reading = report.get("reading") or {}
    size = report.get("input_bytes")
    delimiter = reading.get("delimiter")
    read_as = [reading.get("encoding"), _DELIMITERS.get(delimiter, delimiter) if delimiter
               else None, reading.get("compression")]
    return [
        ("input", report["input"]), ("size", f"{size:,} bytes" if size else "not recorded"),
        ("read as", ", ".join(str(part) for part in read_as if part) or "not recorded"),
        ("fingerprint", report.get("fingerprint", "")), ("run id", report["run_id"]),
        ("list", f'{report.get("list_name") or ""} (id {report.get("list_id")})'),
        ("resumed", in_words(report.get("resumed", False))),
        ("duration", f'{report["duration_s"]:,.1f} s'),
        ("rows/s", f'{report["rows_per_second"]:,.0f}'),
        ("upload requests", upload.get("requests", 0)),
        ("429 answers", upload.get("throttled", 0)), ("retries", upload.get("retries", 0)),
        ("latency p50 / p95", f'{in_words(upload.get("latency_ms_p50"))} / '
                              f'{in_words(upload.get("latency_ms_p95"))} ms'),
        ("verified in list", in_words(verification.get("verified"))),
        ("re-sent", in_words(verification.get("resent"))),
    ]


def render_html(report: dict[str, Any]) -> str:
    """The whole page for one ``report.json`` (an older one shows what it holds)."""
    requests = report.get("request_timeline") or []
    progress = report.get("progress_timeline") or []
    counts = {kind: report["outcomes"].get(kind, 0) for kind in _kinds(report)}
    balanced = "balanced" if report["balanced"] else "NOT BALANCED"
    title = _title(report)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 900px; color: #222 }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em }} h2 {{ font-size: 1.1em; margin-top: 1.6em }}
.when {{ color: #555; margin-top: 0 }} .headline {{ font-size: 1.1em }}
table {{ border-collapse: collapse }} td, th {{ border: 1px solid #ccc; padding: 3px 8px;
text-align: left; vertical-align: top }}
svg text {{ font: 12px system-ui, sans-serif }} .empty {{ color: #777 }}
.badge {{ padding: 2px 8px; border-radius: 4px; color: white; font-size: 0.8em;
background: {"#2e7d32" if report["balanced"] else "#c62828"} }}
</style></head><body>
<h1 id="title">{esc(title)} <span class="badge" id="balanced">{balanced}</span></h1>
<p class="when" id="when">{esc(_when(report))}</p>
<p class="headline" id="rows-read" data-count="{report["rows_read"]}">
{esc(_headline(report, counts))} Every row has exactly one outcome.</p>
<p id="list-counts">{esc(_list_counts(report))}</p>
<h2>Outcomes</h2>{bars(counts, report["rows_read"])}
{_phases_section(report)}
<h2>Outcomes by country</h2>{_countries_table(report)}
<h2>Rejected rows, by reason</h2>{_reason_table(report, OutcomeKind.REJECTED, "rejections")}
<h2>Duplicates, by rule</h2>{_reason_table(report, OutcomeKind.DUPLICATE, "duplicates")}
<h2>Duplicate pairs, first few (personal data masked)</h2>{_examples_table(report)}
{f'<h2>Failed rows, by reason</h2>{_reason_table(report, OutcomeKind.FAILED, "failures")}'
 if counts.get(OutcomeKind.FAILED) else ""}
<h2>Throughput: rows read over time</h2>
{line_chart("throughput-chart", [(p[0], p[1]) for p in progress], "seconds", "rows read")}
<h2>Upload latency</h2>
{histogram("latency-chart", [r[1] for r in requests if r[2] == 202], "latency, ms")}
<h2>Concurrency over time (red: 429 answers)</h2>
{line_chart("concurrency-chart", [(r[0], r[3]) for r in requests], "seconds",
            "uploads allowed in flight", step=True,
            marks=[r[0] for r in requests if r[2] == 429])}
<h2>List fields: uploaded from</h2>
{_table(_field_rows(report.get("fields") or {}), ("field", "column"), "fields")}
{_mirror_section(report.get("mirror"))}
<h2>Run</h2>{_table(_run_rows(report), ("", ""), "summary")}
<h2>Settings</h2>{_table(settings_in_words(report.get("settings") or {}),
                         ("setting", "value"), "settings")}
</body></html>
"""


def render_text(report: dict[str, Any]) -> str:
    """The same summary as a table for the terminal."""
    lines = [f"run {report['run_id']}  {report['input']}",
             f"rows read {report['rows_read']:,}  "
             f"({'balanced' if report['balanced'] else 'NOT BALANCED'})", ""]
    lines += [f"  {kind:<10}{count:>12,}" for kind, count in report["outcomes"].items()]
    if report["reasons"]:
        lines += ["", f"  {'reason':<24}{'rows':>10}  {'first record':>12}"]
        lines += [f"  {reason:<24}{count:>10,}  {sample!s:>12}"
                  for reason, count, sample, _ in reason_rows(report)]
    upload = report.get("upload") or {}
    if upload.get("requests"):
        lines += ["", f"  uploads {upload['requests']:,} requests, {upload['throttled']:,} "
                      f"answered 429, p50 {upload['latency_ms_p50']} ms, "
                      f"p95 {upload['latency_ms_p95']} ms"]
    if mirrored := mirror_text(report.get("mirror")):
        lines += ["", f"  mirror: {mirrored}"]
    return "\n".join(lines)


def write_html(out_dir: Path) -> dict[str, Any]:
    """(Re)build ``out_dir/report.html`` from ``out_dir/report.json``; returns the report."""
    report: dict[str, Any] = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    write_text_atomically(out_dir / "report.html", render_html(report))
    return report


def summary_line(report: Report) -> str:
    """The run in one line: counts by outcome, balanced or not, and where the outputs are."""
    counts = ", ".join(f"{kind} {count:,}" for kind, count in report.outcomes.items() if count)
    state = "balanced" if report.balanced else "NOT BALANCED"
    state += "; resumed" if report.resumed else ""
    target = f"list {report.list_id}" if report.list_id is not None else "dry run"
    mirrored = mirror_text(report.mirror)
    return (f"{counted(report.rows_read, 'row')}: {counts or 'none'} ({state}; {target}); "
            f"{f'mirror {mirrored}; ' if mirrored else ''}outputs in {report.out_dir}")
