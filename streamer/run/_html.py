"""The run report people look at: one self-contained HTML page, a terminal summary, and
the lines the command line prints while a run goes (progress) and when it ends.

Built only from ``report.json``, so ``python -m streamer report OUT`` can rebuild both
at any time. Charts are inline SVG drawn here: the page needs no network, no script and
no plotting library, and every number on it is the one in ``report.json``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streamer.records import REASON_HELP, ReasonCode
from streamer.run._report import Report, write_text_atomically

_COLOURS = {"uploaded": "#2e7d32", "accepted": "#66bb6a", "duplicate": "#1565c0",
            "rejected": "#ef6c00", "failed": "#c62828"}
_W, _H, _PAD, _TOP = 640, 240, 50, 30


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


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bars(counts: dict[str, int]) -> str:
    """A horizontal bar per outcome, labelled with its count."""
    shown = [(kind, n) for kind, n in counts.items()]
    top = max([n for _, n in shown] + [1])
    rows = []
    for i, (kind, n) in enumerate(shown):
        y = 10 + i * 34
        width = (_W - 260) * n / top
        rows.append(
            f'<g class="outcome" data-outcome="{_esc(kind)}" data-count="{n}">'
            f'<text x="0" y="{y + 17}">{_esc(kind)}</text>'
            f'<rect x="110" y="{y}" width="{width:.1f}" height="24" '
            f'fill="{_COLOURS.get(kind, "#777")}"></rect>'
            f'<text x="{118 + width:.1f}" y="{y + 17}">{n:,}</text></g>')
    return (f'<svg id="outcomes-chart" role="img" aria-label="outcome counts" '
            f'viewBox="0 0 {_W} {20 + 34 * len(shown)}" width="{_W}">{"".join(rows)}</svg>')


def _axes(x_label: str, y_label: str, x_max: float, y_max: float) -> str:
    return (f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - 10}" y2="{_H - _PAD}" '
            f'stroke="#444"></line>'
            f'<line x1="{_PAD}" y1="{_TOP}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#444"></line>'
            f'<text x="{_W / 2}" y="{_H - 8}" text-anchor="middle">{_esc(x_label)} '
            f'(0 to {x_max:,.1f})</text>'
            f'<text x="{_PAD}" y="14">{_esc(y_label)}</text>'
            f'<text x="{_PAD - 4}" y="{_TOP + 4}" text-anchor="end" font-size="10">'
            f'{y_max:,.0f}</text>'
            f'<text x="{_PAD - 4}" y="{_H - _PAD}" text-anchor="end" font-size="10">0</text>')


def _scale(x: float, y: float, x_max: float, y_max: float) -> tuple[float, float]:
    return (_PAD + (_W - _PAD - 10) * x / (x_max or 1),
            _H - _PAD - (_H - _PAD - _TOP) * y / (y_max or 1))


def _line_chart(chart_id: str, points: Sequence[tuple[float, float]], x_label: str,
                y_label: str, *, step: bool = False,
                marks: Sequence[float] = ()) -> str:
    if not points:
        return f'<p id="{chart_id}" class="empty">no data for this run</p>'
    x_max = max(p[0] for p in points) or 1.0
    y_max = max(max(p[1] for p in points), 1.0)
    coords: list[str] = []
    last_y: float | None = None
    for x, y in points:
        px, py = _scale(x, y, x_max, y_max)
        if step and last_y is not None:
            coords.append(f"{px:.1f},{last_y:.1f}")
        coords.append(f"{px:.1f},{py:.1f}")
        last_y = py
    dots = "".join(
        f'<circle class="throttled" cx="{_scale(t, 0, x_max, y_max)[0]:.1f}" '
        f'cy="{_H - _PAD - 4}" r="3" fill="#c62828"><title>429 at {t:.2f} s</title></circle>'
        for t in marks)
    return (f'<svg id="{chart_id}" role="img" aria-label="{_esc(y_label)} over time" '
            f'viewBox="0 0 {_W} {_H}" width="{_W}">{_axes(x_label, y_label, x_max, y_max)}'
            f'<polyline fill="none" stroke="#1565c0" stroke-width="2" '
            f'points="{" ".join(coords)}"></polyline>{dots}</svg>')


def _histogram(chart_id: str, values: Sequence[float], label: str, bins: int = 20) -> str:
    if not values:
        return f'<p id="{chart_id}" class="empty">no uploads in this run</p>'
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    top = max(counts)
    bar_w = (_W - _PAD - 10) / bins
    bars = "".join(
        f'<rect class="bin" data-count="{n}" x="{_PAD + i * bar_w:.1f}" '
        f'y="{_H - _PAD - (_H - _PAD - _TOP) * n / top:.1f}" width="{bar_w - 2:.1f}" '
        f'height="{(_H - _PAD - _TOP) * n / top:.1f}" fill="#1565c0">'
        f'<title>{low + i * width:,.0f}-{low + (i + 1) * width:,.0f} ms: {n}</title></rect>'
        for i, n in enumerate(counts))
    return (f'<svg id="{chart_id}" role="img" aria-label="{_esc(label)}" '
            f'viewBox="0 0 {_W} {_H}" width="{_W}">'
            f'{_axes(f"{label}, {low:,.0f} to {high:,.0f} ms", "requests", high - low, top)}'
            f'{bars}</svg>')


def _table(rows: Sequence[Sequence[object]], header: Sequence[str], table_id: str) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>"
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
        return f"would remove {count:,} of the list's {size:,} records"
    failed = f", {mirror['failed']:,} could not be" if mirror.get("failed") else ""
    return f"removed {mirror.get('removed', 0):,} of the list's {size:,} records{failed}"


def _mirror_section(mirror: dict[str, Any] | None) -> str:
    if not mirror or not mirror.get("enabled"):
        return ""
    rows = [(key.replace("_", " "), "" if value is None else value)
            for key, value in mirror.items() if key != "enabled"]
    return (f'<h2>Mirror</h2><p id="mirror-summary">{_esc(mirror_text(mirror))}</p>'
            f'{_table(rows, ("", ""), "mirror")}')


def render_html(report: dict[str, Any]) -> str:
    """The whole page for one ``report.json``."""
    requests = report.get("request_timeline") or []
    progress = report.get("progress_timeline") or []
    upload = report.get("upload") or {}
    verification = report.get("verification") or {}
    balanced = "balanced" if report["balanced"] else "NOT BALANCED"
    summary_rows = [
        ("input", report["input"]), ("fingerprint", report.get("fingerprint", "")),
        ("read as", ", ".join(f"{k} {v}" for k, v in (report.get("reading") or {}).items()
                              if v)),
        ("list", f'{report.get("list_name") or ""} (id {report.get("list_id")})'),
        ("rows read", f'{report["rows_read"]:,}'), ("balanced", balanced),
        ("resumed", report.get("resumed", False)), ("dry run", report["dry_run"]),
        ("duration", f'{report["duration_s"]:,.1f} s'),
        ("rows/s", f'{report["rows_per_second"]:,.0f}'),
        ("upload requests", upload.get("requests", 0)),
        ("429 answers", upload.get("throttled", 0)), ("retries", upload.get("retries", 0)),
        ("success rate", upload.get("success_rate")),
        ("latency p50 / p95 ms", f'{upload.get("latency_ms_p50")} / '
                                 f'{upload.get("latency_ms_p95")}'),
        ("verified in list", verification.get("verified", "")),
        ("re-sent", verification.get("resent", "")),
    ]
    settings_rows = sorted((k, json.dumps(v)) for k, v in (report.get("settings") or {}).items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>streamer run {_esc(report["run_id"])}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 900px; color: #222 }}
h1 {{ font-size: 1.4em }} h2 {{ font-size: 1.1em; margin-top: 2em }}
table {{ border-collapse: collapse }} td, th {{ border: 1px solid #ccc; padding: 3px 8px;
text-align: left; vertical-align: top }}
svg text {{ font: 12px system-ui, sans-serif }} .empty {{ color: #777 }}
.badge {{ padding: 2px 8px; border-radius: 4px; color: white;
background: {"#2e7d32" if report["balanced"] else "#c62828"} }}
</style></head><body>
<h1>streamer run <code>{_esc(report["run_id"])}</code>
<span class="badge" id="balanced">{balanced}</span></h1>
<p id="rows-read" data-count="{report["rows_read"]}">{report["rows_read"]:,} rows read;
every row has exactly one outcome.</p>
<h2>Outcomes</h2>{_bars(report["outcomes"])}
<h2>Reasons, largest first</h2>
{_table(reason_rows(report), ("reason", "rows", "first record", "what to do"), "reasons")}
<h2>Throughput: rows read over time</h2>
{_line_chart("throughput-chart", [(p[0], p[1]) for p in progress], "seconds", "rows read")}
<h2>Upload latency</h2>
{_histogram("latency-chart", [r[1] for r in requests if r[2] == 202], "latency")}
<h2>Concurrency over time (red: 429 answers)</h2>
{_line_chart("concurrency-chart", [(r[0], r[3]) for r in requests], "seconds",
             "uploads allowed in flight", step=True,
             marks=[r[0] for r in requests if r[2] == 429])}
<h2>List fields: uploaded from</h2>
{_table(_field_rows(report.get("fields") or {}), ("field", "column"), "fields")}
{_mirror_section(report.get("mirror"))}
<h2>Run</h2>{_table(summary_rows, ("", ""), "summary")}
<h2>Settings</h2>{_table(settings_rows, ("setting", "value"), "settings")}
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
    return (f"{report.rows_read:,} rows: {counts or 'none'} ({state}; {target}); "
            f"{f'mirror {mirrored}; ' if mirrored else ''}outputs in {report.out_dir}")
