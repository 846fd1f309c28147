"""The report page's charts, drawn as inline SVG: no script, no network, no plotting
library, and every number drawn is one of ``report.json``'s."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

COLOURS = {"uploaded": "#2e7d32", "accepted": "#66bb6a", "duplicate": "#1565c0",
           "rejected": "#ef6c00", "failed": "#c62828"}
#: Width and height of a chart; the left pad leaves room for the y axis's tick labels.
_W, _H, _PAD, _TOP, _BOTTOM = 640, 240, 64, 30, 46
_PHASE_COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#5d4037")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def share(count: int, total: int) -> float:
    """``count`` as a percentage of ``total``, to one decimal (0 when there is none)."""
    return round(100 * count / total, 1) if total else 0.0


def short(value: float, span: float | None = None) -> str:
    """A tick label that fits its pad (950, 12.5k, 1.2M), with the decimals its axis's
    ``span`` needs to tell neighbouring ticks apart."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.1f}".rstrip("0").rstrip(".") + suffix
    span = abs(value) if span is None else span
    decimals = 0 if span >= 20 or (value == int(value) and span >= 4) else 1 if span >= 2 else 2
    return f"{value:,.{decimals}f}"


def bars(counts: dict[str, int], total: int) -> str:
    """A horizontal bar per outcome, labelled with its count and share of the rows."""
    top = max([*counts.values(), 1])
    rows = []
    for i, (kind, n) in enumerate(counts.items()):
        y = 10 + i * 34
        width = (_W - 300) * n / top
        rows.append(
            f'<g class="outcome" data-outcome="{esc(kind)}" data-count="{n}" '
            f'data-share="{share(n, total)}">'
            f'<text x="0" y="{y + 17}">{esc(kind)}</text>'
            f'<rect x="110" y="{y}" width="{width:.1f}" height="24" '
            f'fill="{COLOURS.get(kind, "#777")}"></rect>'
            f'<text x="{118 + width:.1f}" y="{y + 17}">{n:,} ({share(n, total)} %)</text></g>')
    return (f'<svg id="outcomes-chart" role="img" aria-label="outcome counts" '
            f'viewBox="0 0 {_W} {20 + 34 * len(counts)}" width="{_W}">{"".join(rows)}</svg>')


def _ticks(top: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """``count`` + 1 evenly spaced ticks from 0 to ``top``; counts of things (``whole``)
    below ``count`` get one tick per thing instead of fractions."""
    if whole and top < count:
        return [float(i) for i in range(int(top) + 1)]
    return [top * i / count for i in range(count + 1)]


def _axes(x_label: str, y_label: str, x_low: float, x_high: float, y_max: float, *,
          whole: bool = False) -> str:
    """Both axes with ticks and labels; the x label sits below the tick labels."""
    base = _H - _BOTTOM
    parts = [f'<line x1="{_PAD}" y1="{base}" x2="{_W - 10}" y2="{base}" stroke="#444"></line>',
             f'<line x1="{_PAD}" y1="{_TOP}" x2="{_PAD}" y2="{base}" stroke="#444"></line>',
             f'<text x="{(_PAD + _W) / 2}" y="{_H - 6}" text-anchor="middle">'
             f'{esc(x_label)}</text>',
             f'<text x="4" y="14">{esc(y_label)}</text>']
    for value in _ticks(y_max, whole=whole):
        y = _scale(0, value, 0, 1, y_max)[1]
        parts.append(f'<line class="tick" x1="{_PAD - 4}" y1="{y:.1f}" x2="{_PAD}" '
                     f'y2="{y:.1f}" stroke="#444"></line><text x="{_PAD - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end" font-size="10">{short(value, y_max)}</text>')
    span = x_high - x_low
    for i, value in enumerate(_ticks(span)):
        x = _scale(value, 0, 0, span or 1, y_max)[0]
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{base}" x2="{x:.1f}" '
                     f'y2="{base + 4}" stroke="#444"></line><text x="{x:.1f}" y="{base + 16}" '
                     f'text-anchor="{anchor}" font-size="10">{short(x_low + value, span)}</text>')
    return "".join(parts)


def _scale(x: float, y: float, x_low: float, x_span: float,
           y_max: float) -> tuple[float, float]:
    return (_PAD + (_W - _PAD - 10) * (x - x_low) / (x_span or 1),
            _H - _BOTTOM - (_H - _BOTTOM - _TOP) * y / (y_max or 1))


def line_chart(chart_id: str, points: Sequence[tuple[float, float]], x_label: str,
               y_label: str, *, step: bool = False, marks: Sequence[float] = ()) -> str:
    if not points:
        return f'<p id="{chart_id}" class="empty">no data for this run</p>'
    if points[0][0] > 0 and not step:  # nothing was read before the run began
        points = [(0.0, 0.0), *points]
    x_max = max(p[0] for p in points) or 1.0
    y_max = max(max(p[1] for p in points), 1.0)
    coords: list[str] = []
    last_y: float | None = None
    for x, y in points:
        px, py = _scale(x, y, 0, x_max, y_max)
        if step and last_y is not None:
            coords.append(f"{px:.1f},{last_y:.1f}")
        coords.append(f"{px:.1f},{py:.1f}")
        last_y = py
    dots = "".join(
        f'<circle class="throttled" cx="{_scale(t, 0, 0, x_max, y_max)[0]:.1f}" '
        f'cy="{_H - _BOTTOM - 4}" r="3" fill="#c62828"><title>429 at {t:.2f} s</title>'
        '</circle>' for t in marks)
    return (f'<svg id="{chart_id}" role="img" aria-label="{esc(y_label)} over time" '
            f'viewBox="0 0 {_W} {_H}" width="{_W}">'
            f'{_axes(x_label, y_label, 0, x_max, y_max)}'
            f'<polyline fill="none" stroke="#1565c0" stroke-width="2" '
            f'points="{" ".join(coords)}"></polyline>{dots}</svg>')


def histogram(chart_id: str, values: Sequence[float], label: str, bins: int = 20) -> str:
    if not values:
        return f'<p id="{chart_id}" class="empty">no uploads in this run</p>'
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    top = max(counts)
    bar_w = (_W - _PAD - 10) / bins
    plot_h = _H - _BOTTOM - _TOP
    drawn = "".join(
        f'<rect class="bin" data-count="{n}" x="{_PAD + i * bar_w:.1f}" '
        f'y="{_H - _BOTTOM - plot_h * n / top:.1f}" width="{bar_w - 2:.1f}" '
        f'height="{plot_h * n / top:.1f}" fill="#1565c0">'
        f'<title>{low + i * width:,.0f}-{low + (i + 1) * width:,.0f} ms: {n}</title></rect>'
        for i, n in enumerate(counts))
    return (f'<svg id="{chart_id}" role="img" aria-label="{esc(label)}" '
            f'viewBox="0 0 {_W} {_H}" width="{_W}">'
            f'{_axes(label, "requests", low, low + width * bins, top, whole=True)}{drawn}</svg>')


def timeline(phases: Sequence[dict[str, Any]]) -> str:
    """The run's phases as one horizontal bar, each phase as long as it took."""
    total = sum(float(p.get("seconds") or 0) for p in phases) or 1.0
    x, parts = 0.0, []
    for i, phase in enumerate(phases):
        seconds = float(phase.get("seconds") or 0)
        width = (_W - 2) * seconds / total
        colour = _PHASE_COLOURS[i % len(_PHASE_COLOURS)]
        at = _clock(phase.get("started_at"))
        parts.append(
            f'<g class="phase" data-phase="{esc(phase.get("phase", ""))}" '
            f'data-seconds="{seconds}"><rect x="{x + 1:.1f}" y="4" width="{width:.1f}" '
            f'height="26" fill="{colour}"><title>{esc(phase.get("phase", ""))}: '
            f'{seconds:,.2f} s{f" from {at}" if at else ""}</title></rect>'
            f'<text x="{x + 1:.1f}" y="{46 + 14 * (i % 2)}" font-size="11">'
            f'{esc(phase.get("phase", ""))} {seconds:,.1f} s</text></g>')
        x += width
    return (f'<svg id="phases-chart" role="img" aria-label="phases of the run" '
            f'viewBox="0 0 {_W} 66" width="{_W}">{"".join(parts)}</svg>')


def _clock(value: object) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M:%S")
    except ValueError:
        return ""
