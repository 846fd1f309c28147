"""Delivering accepted rows to a calling list, through the :class:`ListTarget` protocol
(the CXone client, or anything that speaks it): the batcher, the uploader with its
adaptive pace, and read-back reconciliation. Nothing here knows CXone's HTTP API."""

from streamer.delivery._batcher import batch_rows
from streamer.delivery._deliver import Delivery, ListDelivery
from streamer.delivery._dry_run import DryRunDelivery
from streamer.delivery._lists import resolve_list
from streamer.delivery._pacing import AdaptiveLimiter
from streamer.delivery._target import JobState, ListTarget, RecordsPage, Removal

__all__ = [
    "AdaptiveLimiter",
    "Delivery",
    "DryRunDelivery",
    "JobState",
    "ListDelivery",
    "ListTarget",
    "RecordsPage",
    "Removal",
    "batch_rows",
    "resolve_list",
]
