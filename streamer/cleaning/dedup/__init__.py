"""Duplicate detection: the first record of each contact is kept, later ones point to it.

Exact first (the same E.164 number, the same email, the same external id), then, with
``--dedup fuzzy``, the typos people make: a mistyped email or a number one digit off, only
ever when the names agree. The rules are written once (:mod:`._rules`, whose docstring
says why each is safe); both kinds of key share one compact index (:mod:`._index`, over
the table of :mod:`._table` and the keys of :mod:`._keys`).
"""

from streamer.cleaning.dedup._index import ContactIndex
from streamer.cleaning.dedup._rules import fold_name
from streamer.cleaning.dedup._stage import Dedup, DedupRules

__all__ = ["ContactIndex", "Dedup", "DedupRules", "fold_name"]
