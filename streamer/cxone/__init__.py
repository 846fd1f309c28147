"""Talking to NICE CXone: the API client (a :class:`~streamer.delivery.ListTarget`), and
a local sandbox that serves the same routes (:mod:`._routes`, the one table of them)."""

from streamer.cxone._client import CXoneClient, jwt_claims
from streamer.cxone._connect import connect
from streamer.cxone._sandbox import Sandbox
from streamer.cxone._sandbox_config import SandboxConfig

__all__ = ["CXoneClient", "Sandbox", "SandboxConfig", "connect", "jwt_claims"]
