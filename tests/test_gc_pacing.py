"""Rarer collections during a run, and the caller's settings back afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streamer.cleaning._gc_pacing import YOUNG_THRESHOLD, rarer_collections


@pytest.fixture(autouse=True)
def keep_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_young_generation_is_collected_rarer_then_as_before() -> None:
    gc.set_threshold(700, 10, 10)
    with rarer_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_callers_own_choice_is_left_alone() -> None:
    gc.set_threshold(0)  # collections off: the caller's business
    with rarer_collections():
        assert gc.get_threshold()[0] == 0
    gc.set_threshold(700, 10, 10)
    with rarer_collections():
        gc.set_threshold(1_000, 10, 10)  # changed meanwhile: kept
    assert gc.get_threshold() == (1_000, 10, 10)
