"""Counts in words: ``1 row``, ``2 rows``, ``1,000 rows``; one place for every count a
person reads in a line (the summary, the errors), so none says ``1 rows``."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` with thousands separators and ``noun`` in the number it takes."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
