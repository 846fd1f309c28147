"""Delivering accepted rows to a calling list, through the :class:`ListTarget` protocol
(the CXone client, or anything that speaks it): the batcher, the uploader with its
adaptive pace, read-back reconciliation, and the mirror (removing what the file lacks).
Nothing here knows CXone's HTTP API."""

from streamer.delivery._batcher import batch_rows
from streamer.delivery._deliver import Delivery, ListDelivery
from streamer.delivery._dry_run import DryRunDelivery
from streamer.delivery._lists import resolve_list
from streamer.delivery._mirror import REMOVE_CHUNK, mirror_list
from streamer.delivery._pacing import AdaptiveLimiter
from streamer.delivery._target import JobState, ListTarget, RecordsPage, Removal

__all__ = [
    "REMOVE_CHUNK",
    "AdaptiveLimiter",
    "Delivery",
    "DryRunDelivery",
    "JobState",
    "ListDelivery",
    "ListTarget",
    "RecordsPage",
    "Removal",
    "batch_rows",
    "mirror_list",
    "resolve_list",
]
