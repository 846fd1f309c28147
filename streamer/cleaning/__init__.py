"""Cleaning rows: phones to E.164, emails, names and countries (:class:`NormalizeRules`),
the campaign's rules and do-not-call set (:class:`CampaignRules`), and dedup
(:mod:`streamer.cleaning.dedup`), run as row stages on worker processes
(:class:`RowWorkers`)."""

from streamer.cleaning._dnc import DncEntry, DncGroup, load_do_not_call
from streamer.cleaning._gc_pacing import rarer_collections
from streamer.cleaning._normalize import (
    NormalizeRules,
    normalize_email,
    normalize_name,
    normalize_phone,
    region_for_country,
)
from streamer.cleaning._rules import CampaignRules
from streamer.cleaning._workers import RowStage, RowWorkers, worker_count
from streamer.cleaning.dedup import DedupRules

__all__ = [
    "CampaignRules",
    "DedupRules",
    "DncEntry",
    "DncGroup",
    "NormalizeRules",
    "RowStage",
    "RowWorkers",
    "load_do_not_call",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "rarer_collections",
    "region_for_country",
    "worker_count",
]
