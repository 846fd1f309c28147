"""streamer: stream a large, messy contacts CSV, clean, into NICE CXone calling lists.

    report = await streamer.run("contacts.csv", streamer.Settings(list_name="spring"))

    async for outcome in streamer.stream("contacts.csv", settings):
        ...
"""

from streamer.cxone.sandbox import Sandbox, SandboxConfig
from streamer.errors import (
    ConfigError,
    HTTPStatusError,
    InputError,
    Interrupted,
    RemoteError,
    StreamerError,
    TransportError,
)
from streamer.pipeline import Progress, run, stream
from streamer.records import Outcome, OutcomeKind, ReasonCode
from streamer.report import Report
from streamer.settings import (
    Columns,
    Credentials,
    RetryPolicy,
    Secret,
    Settings,
    UploadOptions,
    credentials_from_env,
)

__all__ = [
    "Columns",
    "ConfigError",
    "Credentials",
    "HTTPStatusError",
    "InputError",
    "Interrupted",
    "Outcome",
    "OutcomeKind",
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
