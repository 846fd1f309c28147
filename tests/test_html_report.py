"""The HTML run report, checked as a person would see it: rendered by headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
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
    for kind, count in data["outcomes"].items():
        assert f'data-outcome="{kind}" data-count="{count}"' in dom
    assert f'id="rows-read" data-count="{data["rows_read"]}"' in dom
    assert 'id="balanced">balanced<' in dom
    table = dom.split('<table id="reasons">')[1].split("</table>")[0]
    reasons = re.findall(r"<tr><td>([a-z_]+)</td><td>(\d+)</td>", table)
    assert [(r, int(n)) for r, n in reasons] == sorted(
        data["reasons"].items(), key=lambda kv: -kv[1])
    for chart in ("outcomes-chart", "throughput-chart", "latency-chart", "concurrency-chart"):
        assert f'<svg id="{chart}"' in dom
    assert dom.count('class="throttled"') == data["upload"]["throttled"]
    bins = [int(n) for n in re.findall(r'class="bin" data-count="(\d+)"', dom)]
    assert sum(bins) == data["upload"]["succeeded"]
    assert data["fingerprint"] in dom
    assert "http://" not in dom.split("<h2>Settings</h2>")[0]  # nothing to fetch


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
