"""Rarer young-generation garbage collections while rows stream.

Every batch makes tens of thousands of short-lived objects (rows, tuples, strings), none
in a reference cycle. CPython's default collects the young generation every 700
allocations, and each collection walks them: ~10 % of a big run's CPU went there.
Collections stay on, only rarer; the older generations keep their settings.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between young-generation collections while a run streams.
YOUNG_THRESHOLD = 50_000


@contextmanager
def rarer_collections() -> Iterator[None]:
    """Raise the young generation's threshold for the block, then put it back.

    A caller that has already made collections rarer (or turned them off) keeps its
    setting; so does one that changes it meanwhile.
    """
    before = gc.get_threshold()
    if before[0] == 0 or before[0] >= YOUNG_THRESHOLD:
        yield
        return
    gc.set_threshold(YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        if gc.get_threshold()[0] == YOUNG_THRESHOLD:
            gc.set_threshold(*before)
