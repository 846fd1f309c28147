"""Talking to NICE CXone: the API client, and a local sandbox that speaks the same API."""

from streamer.cxone.client import CXoneClient, JobState

__all__ = ["CXoneClient", "JobState"]
