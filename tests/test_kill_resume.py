"""SIGKILL at random moments, then the same command again: the list ends exact every time.

The same code runs as a script: ``python -m examples.kill_and_resume``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.kill_and_resume import run_scenario


@pytest.mark.timeout(900)
def test_ten_kill_points_over_fifty_thousand_rows_each_end_exact(tmp_path: Path) -> None:
    points = run_scenario(rows=50_000, kills=10, seed=3, workdir=tmp_path)
    assert len(points) == 10
    assert sum(p.killed for p in points) >= 8  # the delays mostly land inside a run
    for point in points:
        assert point.workers_ended, point
        assert point.each_record_once, point
        assert point.list_equals_uploaded, point
        assert point.phones_unique, point
        assert point.uploaded > 40_000
