"""The HTML run report, checked as a person would see it: rendered by headless Chromium."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import streamer
from streamer import Sandbox, SandboxConfig
from streamer.run._html import render_html
from tests.support import settings_for

SAMPLE = Path(__file__).parent.parent / "examples" / "contacts.csv"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        # CI installs Debian's chromium (.ci/run), so there this must never be skipped.
        assert not os.environ.get("CI"), "chromium is missing in CI"
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this")
    return found


def rendered_dom(page: Path, profile: Path) -> str:
    done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                           page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


async def test_the_page_shows_the_reports_numbers_and_charts(tmp_path: Path) -> None:
    config = SandboxConfig(throttle_rate=0.2, retry_after_s=0, seed=4)
    async with Sandbox(config) as sandbox:
        report = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path / "out",
                                                         batch_size=60, concurrency=4))
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report.upload["throttled"] > 0
    dom = rendered_dom(tmp_path / "out" / "report.html", tmp_path / "profile")
    title = re.search(r"<title>(.*)</title>", dom)
    assert title is not None and data["run_id"] not in title.group(1)
    day = datetime.fromisoformat(data["started_at"]).strftime("%-d %b %Y")
    assert title.group(1) == f"contacts.csv to list \u201c{data['list_name']}\u201d, {day}"
    assert datetime.fromisoformat(data["started_at"]).strftime("%H:%M:%S") in dom

    shown = dict(re.findall(r'data-outcome="(\w+)" data-count="(\d+)"', dom))
    assert "accepted" not in shown  # a real upload: never "accepted 0"
    assert {kind: int(n) for kind, n in shown.items()} == {
        kind: data["outcomes"][kind] for kind in ("uploaded", "duplicate", "rejected", "failed")}
    shares = [float(n) for n in re.findall(r'data-share="([\d.]+)"', dom)]
    assert abs(sum(shares) - 100) <= 0.2
    assert f'id="rows-read" data-count="{data["rows_read"]}"' in dom
    assert 'id="balanced">balanced<' in dom
    total = data["verification"]["list_total_records"]
    assert f"CXone says the list holds {total:,} records" in dom

    def table(table_id: str) -> str:
        return dom.split(f'<table id="{table_id}">')[1].split("</table>")[0]

    def first_cells(table_id: str) -> list[tuple[str, int]]:
        return [(r, int(n.replace(",", ""))) for r, n in
                re.findall(r"<tr><td>([a-z_]+)</td><td>([\d,]+)</td>", table(table_id))]

    reasons = sorted(data["reasons"].items(), key=lambda kv: -kv[1])
    assert first_cells("duplicates") == [(r, n) for r, n in reasons if r.startswith("same_")]
    assert first_cells("rejections") == [(r, n) for r, n in reasons if not r.startswith("same_")]
    assert "first at spreadsheet row" in table("rejections")
    for reason, row in data["reason_sample_rows"].items():
        assert re.search(rf"<td>{reason}</td>(<td>[^<]*</td>){{2}}<td>{row}</td>", dom)
    countries = re.findall(r"<tr><td>(\w+)</td><td>([\d,]+)</td>", table("countries"))
    assert {c: int(n) for c, n in countries} == {
        c: sum(counts.values()) for c, counts in data["countries"].items()}

    pairs = table("duplicate-examples")
    assert pairs.count("<tr>") == 1 + len(data["duplicate_examples"]) == 6
    with open(SAMPLE, encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            digits = re.sub(r"\D", "", row["Phone Number"])
            assert len(digits) < 7 or digits not in pairs
            assert not row["E-mail"].strip() or row["E-mail"].strip() not in pairs

    for chart in ("outcomes-chart", "throughput-chart", "latency-chart", "concurrency-chart"):
        assert f'<svg id="{chart}"' in dom
    assert 'id="phases-chart"' in dom  # the run's phases, as a timeline
    assert dom.count('class="throttled"') == data["upload"]["throttled"]
    bins = [int(n) for n in re.findall(r'class="bin" data-count="(\d+)"', dom)]
    assert sum(bins) == data["upload"]["succeeded"]
    latency = dom.split('<svg id="latency-chart"')[1].split("</svg>")[0]
    assert latency.count('class="tick"') >= 7  # both axes have ticks
    assert data["fingerprint"] in dom
    settings = table("settings")
    assert "fuzzy matching: emails up to 2 typos apart" in settings
    for raw in ("[2, 5", "False", "True", "None", "null"):
        assert raw not in settings
    assert "http://" not in dom.split("<h2>Settings</h2>")[0]  # nothing to fetch


def test_a_timeline_shows_each_phase_as_long_as_it_took(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "streamer", "upload", str(SAMPLE), "--dry-run",
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    data = json.loads((out / "report.json").read_text())
    data["phases"] = [
        {"phase": "reading", "started_at": "2026-12-02T09:14:03+01:00", "seconds": 3.0},
        {"phase": "waiting for 2 jobs", "started_at": "2026-12-02T09:14:06+01:00",
         "seconds": 1.0},
        {"phase": "writing outputs", "started_at": "2026-12-02T09:14:07+01:00",
         "seconds": 0.5}]
    (out / "report.json").write_text(json.dumps(data))
    done = subprocess.run([sys.executable, "-m", "streamer", "report", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    dom = rendered_dom(out / "report.html", tmp_path / "profile")
    phases = re.findall(r'data-phase="([^"]+)" data-seconds="[\d.]+"><rect x="[\d.]+" y="4" '
                        r'width="([\d.]+)"', dom)
    assert [name for name, _ in phases] == ["reading", "waiting for 2 jobs", "writing outputs"]
    widths = [float(width) for _, width in phases]
    assert widths[0] == pytest.approx(3 * widths[1], rel=0.01)
    assert widths[1] == pytest.approx(2 * widths[2], rel=0.01)
    assert "09:14:03" in dom  # each phase's start, on hover


def test_an_older_report_without_the_new_keys_still_renders(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "streamer", "upload", str(SAMPLE), "--dry-run",
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    data = json.loads((out / "report.json").read_text())
    for key in ("started_at", "finished_at", "input_name", "input_bytes", "countries",
                "reason_sample_rows", "duplicate_examples", "phases"):
        del data[key]
    del data["reading"]["delimiter"]
    (out / "report.json").write_text(json.dumps(data))
    done = subprocess.run([sys.executable, "-m", "streamer", "report", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    page = (out / "report.html").read_text()
    assert "<title>contacts.csv to dry run, nothing uploaded</title>" in page
    assert "date not recorded" in page
    assert "first record (blank lines not counted)" in page
    assert 'id="countries" class="empty"' in page
    assert 'data-outcome="accepted"' in page and 'data-outcome="uploaded"' not in page


def test_the_report_command_rebuilds_the_page_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "streamer", "upload", str(SAMPLE), "--dry-run",
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    (out / "report.html").unlink()
    done = subprocess.run([sys.executable, "-m", "streamer", "report", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "report.json").read_text())
    assert f"rows read {data['rows_read']:,}" in done.stdout
    assert f"  {'accepted':<10}{data['outcomes']['accepted']:>12,}" in done.stdout
    assert (out / "report.html").read_text() == render_html(data)
    missing = subprocess.run([sys.executable, "-m", "streamer", "report", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "no report.json" in missing.stderr
