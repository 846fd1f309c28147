"""Every setting of a run, in one frozen object. The only module that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from streamer.errors import ConfigError
from streamer.limits import MAX_RECORDS_PER_FILE

DEFAULT_ISSUER = "https://cxone.niceincontact.com"
DELIMITERS = {"comma": ",", "tab": "\t", "semicolon": ";"}


class Secret:
    """A credential value whose ``repr`` and ``str`` never show it.

    Call :meth:`reveal` at the one place the value goes on the wire.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """How to reach a CXone tenant: the issuer, the app's client and the user's access key."""

    issuer: str = DEFAULT_ISSUER
    client_id: str
    client_secret: Secret
    access_key_id: str
    access_key_secret: Secret


CREDENTIAL_VARIABLES = (
    "CXONE_CLIENT_ID",
    "CXONE_CLIENT_SECRET",
    "CXONE_ACCESS_KEY_ID",
    "CXONE_ACCESS_KEY_SECRET",
)


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from ``CXONE_*`` variables; ``None`` when none of them is set.

    Setting some but not all of them is a mistake worth stopping for.
    """
    env = os.environ if environ is None else environ
    present = {name: env[name] for name in CREDENTIAL_VARIABLES if env.get(name)}
    if not present:
        return None
    missing = [name for name in CREDENTIAL_VARIABLES if name not in present]
    if missing:
        raise ConfigError(f"incomplete CXone credentials: {', '.join(missing)} not set")
    return Credentials(
        issuer=env.get("CXONE_ISSUER") or DEFAULT_ISSUER,
        client_id=present["CXONE_CLIENT_ID"],
        client_secret=Secret(present["CXONE_CLIENT_SECRET"]),
        access_key_id=present["CXONE_ACCESS_KEY_ID"],
        access_key_secret=Secret(present["CXONE_ACCESS_KEY_SECRET"]),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Columns:
    """Input header names chosen by the user; ``None`` means "recognise a usual spelling"."""

    phone: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a failed request is retried (names follow stamina's).

    Waits grow as ``wait_initial * wait_exp_base ** (attempt - 1)``, capped at
    ``wait_max``, with full jitter; a ``Retry-After`` from the server wins.
    """

    attempts: int = 6
    timeout: float = 60.0
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_exp_base: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError("retry attempts must be at least 1")
        if self.timeout <= 0 or self.wait_initial < 0 or self.wait_max < self.wait_initial:
            raise ConfigError("retry waits must satisfy 0 <= wait_initial <= wait_max")
        if self.wait_exp_base < 1:
            raise ConfigError("retry wait_exp_base must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadOptions:
    """The fields of CXone's upload body that are the user's choice."""

    skill_id: int | None = None
    default_time_zone: str | None = None
    force_overwrite: bool = False
    expiration_days: int = 30
    start_skill: bool = False
    send_email: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything that shapes a run. Frozen: one object flows through every stage."""

    out_dir: Path | None = None
    list_name: str | None = None
    list_id: int | None = None
    delimiter: str = "auto"
    has_header: bool = True
    column_names: tuple[str, ...] | None = None
    columns: Columns = field(default_factory=Columns)
    default_region: str = "US"
    batch_size: int = 5_000
    concurrency: int = 4
    dry_run: bool = False
    credentials: Credentials | None = None
    api_version: str = "v30.0"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    job_timeout: float = 600.0
    job_poll_initial: float = 0.05
    job_poll_max: float = 5.0
    upload: UploadOptions = field(default_factory=UploadOptions)
    chunk_rows: int = 2_048
    stream_buffer: int = 4

    def __post_init__(self) -> None:
        if self.list_name is not None and self.list_id is not None:
            raise ConfigError("give --list or --list-id, not both")
        if self.delimiter != "auto" and self.delimiter not in DELIMITERS:
            raise ConfigError(
                f"unknown delimiter {self.delimiter!r}: use auto, {', '.join(DELIMITERS)}"
            )
        if not self.has_header and not self.column_names:
            raise ConfigError("--no-header needs --columns naming every column")
        region = self.default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"unknown default region {self.default_region!r}: use e.g. US, GB")
        object.__setattr__(self, "default_region", region)
        if not 1 <= self.batch_size <= MAX_RECORDS_PER_FILE:
            raise ConfigError(f"batch size must be between 1 and {MAX_RECORDS_PER_FILE:,}")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        if self.chunk_rows < 1 or self.stream_buffer < 1:
            raise ConfigError("chunk_rows and stream_buffer must be at least 1")
        if self.job_timeout <= 0:
            raise ConfigError("job timeout must be positive")

    def output_dir(self, input_path: Path) -> Path:
        """``--out``, or ``streamer-out/<file stem>/`` beside the current directory."""
        if self.out_dir is not None:
            return self.out_dir
        return Path("streamer-out") / input_path.name.split(".")[0]

    def target_list_name(self, input_path: Path) -> str:
        """``--list``, or the input file's stem when neither --list nor --list-id is given."""
        return self.list_name or input_path.name.split(".")[0]
