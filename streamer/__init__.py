"""streamer: stream a large, messy contacts CSV, clean, into NICE CXone calling lists.

    report = await streamer.run("contacts.csv", streamer.Settings(list_name="spring"))

    async for outcome in streamer.stream("contacts.csv", settings):
        ...
"""

# First: decides whether the compiled core or its pure-Python twin is imported below.
from streamer._core import CORE
from streamer.counters import Phase, Progress
from streamer.credentials import Credentials, Secret, credentials_from_env
from streamer.cxone import Sandbox, SandboxConfig
from streamer.errors import (
    ConfigError,
    HTTPStatusError,
    InputError,
    Interrupted,
    MirrorRefused,
    OutputError,
    RemoteError,
    StreamerError,
    TransportError,
)
from streamer.pipeline import run, stream
from streamer.records import Outcome, OutcomeKind, ReasonCode
from streamer.run import Report
from streamer.settings import Columns, RetryPolicy, Settings, UploadOptions

__all__ = [
    "CORE",
    "Columns",
    "ConfigError",
    "Credentials",
    "HTTPStatusError",
    "InputError",
    "Interrupted",
    "MirrorRefused",
    "Outcome",
    "OutcomeKind",
    "OutputError",
    "Phase",
    "Progress",
    "ReasonCode",
    "RemoteError",
    "Report",
    "RetryPolicy",
    "Sandbox",
    "SandboxConfig",
    "Secret",
    "Settings",
    "StreamerError",
    "TransportError",
    "UploadOptions",
    "credentials_from_env",
    "run",
    "stream",
]
