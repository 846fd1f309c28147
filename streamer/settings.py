"""Every setting of a run, in one frozen object. The only module that reads the environment."""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from streamer.dedup import DEDUP_MODES
from streamer.errors import ConfigError
from streamer.fuzzy import FuzzySettings
from streamer.limits import MAX_RECORD_CHARS, MAX_RECORDS_PER_FILE
from streamer.safety import require_safe_url

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


CLIENT_AUTH_METHODS = ("basic", "post")
TOKEN_ROUTES = ("password", "access-key")


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """How to reach a CXone tenant: the issuer, the app's client and the user's access key.

    ``token_route`` "password" is the OpenID password grant at the discovered token
    endpoint, with the client authenticated by HTTP Basic (``client_auth`` "basic") or in
    the form body ("post"); "access-key" posts the access key as JSON to
    ``{issuer}/authentication/v1/token/access-key`` and needs no client. ``api_base``,
    when set, skips the tenant's API discovery.
    """

    issuer: str = DEFAULT_ISSUER
    client_id: str = ""
    client_secret: Secret = field(default_factory=lambda: Secret(""))
    access_key_id: str
    access_key_secret: Secret
    client_auth: str = "basic"
    token_route: str = "password"
    api_base: str | None = None

    def __post_init__(self) -> None:
        if self.client_auth not in CLIENT_AUTH_METHODS:
            raise ConfigError(f"client auth must be one of {', '.join(CLIENT_AUTH_METHODS)}")
        if self.token_route not in TOKEN_ROUTES:
            raise ConfigError(f"token route must be one of {', '.join(TOKEN_ROUTES)}")
        if self.token_route == "password" and not (self.client_id and self.client_secret.reveal()):
            raise ConfigError("the password token route needs a client id and secret")


_CLIENT_VARIABLES = ("CXONE_CLIENT_ID", "CXONE_CLIENT_SECRET")
_ACCESS_KEY_VARIABLES = ("CXONE_ACCESS_KEY_ID", "CXONE_ACCESS_KEY_SECRET")
CREDENTIAL_VARIABLES = _CLIENT_VARIABLES + _ACCESS_KEY_VARIABLES


def webhook_secret_from_env(environ: Mapping[str, str] | None = None) -> Secret | None:
    """``STREAMER_WEBHOOK_SECRET``, the key that signs webhook bodies, if set."""
    env = os.environ if environ is None else environ
    value = env.get("STREAMER_WEBHOOK_SECRET")
    return Secret(value) if value else None


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from ``CXONE_*`` variables; ``None`` when none of the four is set.

    Setting some but not all of the ones the token route needs is a mistake worth
    stopping for. Optional: ``CXONE_ISSUER``, ``CXONE_CLIENT_AUTH`` (basic|post),
    ``CXONE_TOKEN_ROUTE`` (password|access-key), ``CXONE_API_BASE``.
    """
    env = os.environ if environ is None else environ
    if not any(env.get(name) for name in CREDENTIAL_VARIABLES):
        return None
    route = env.get("CXONE_TOKEN_ROUTE") or "password"
    needed = _ACCESS_KEY_VARIABLES if route == "access-key" else CREDENTIAL_VARIABLES
    missing = [name for name in needed if not env.get(name)]
    if missing:
        raise ConfigError(f"incomplete CXone credentials: {', '.join(missing)} not set")
    return Credentials(
        issuer=env.get("CXONE_ISSUER") or DEFAULT_ISSUER,
        client_id=env.get("CXONE_CLIENT_ID", ""),
        client_secret=Secret(env.get("CXONE_CLIENT_SECRET", "")),
        access_key_id=env["CXONE_ACCESS_KEY_ID"],
        access_key_secret=Secret(env["CXONE_ACCESS_KEY_SECRET"]),
        client_auth=env.get("CXONE_CLIENT_AUTH") or "basic",
        token_route=route,
        api_base=env.get("CXONE_API_BASE") or None,
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
class ListFields:
    """Names shared by the upload file and the list's column mapping.

    The upload file's headers are ours to choose; the mapping names them. CXone's own
    field names (``PhoneNumber`` in ``destinationMappings``, the external id key of a
    record read back) are only partly documented, so they are settings too.
    """

    external_id_header: str = "ExternalId"
    phone_header: str = "PhoneNumber"
    first_name_header: str = "FirstName"
    last_name_header: str = "LastName"
    phone_field: str = "PhoneNumber"
    record_external_id_field: str = "externalId"

    @property
    def upload_header(self) -> tuple[str, str, str, str]:
        return (self.external_id_header, self.phone_header, self.first_name_header,
                self.last_name_header)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything that shapes a run. Frozen: one object flows through every stage."""

    out_dir: Path | None = None
    list_name: str | None = None
    list_id: int | None = None
    delimiter: str = "auto"
    encoding: str = "auto"
    has_header: bool = True
    column_names: tuple[str, ...] | None = None
    columns: Columns = field(default_factory=Columns)
    default_region: str = "US"
    invalid_email: str = "reject"
    required_columns: tuple[str, ...] = ()
    allowed_countries: frozenset[str] | None = None
    dnc_file: Path | None = None
    dnc_groups: tuple[int, ...] = ()
    dnc_group_names: tuple[str, ...] = ()
    max_record_chars: int = MAX_RECORD_CHARS
    dedup: str = "fuzzy"
    fuzzy: FuzzySettings = field(default_factory=FuzzySettings)
    batch_size: int = 5_000
    concurrency: int = 4
    max_concurrency: int = 0  # 0: four times concurrency
    dry_run: bool = False
    credentials: Credentials | None = None
    api_version: str = "v30.0"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    job_timeout: float = 600.0
    job_poll_initial: float = 0.05
    job_poll_max: float = 5.0
    upload: UploadOptions = field(default_factory=UploadOptions)
    list_fields: ListFields = field(default_factory=ListFields)
    verify: bool = True
    restart: bool = False
    audit_full_pii: bool = False
    resend_rounds: int = 2
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    webhook_timeout: float = 10.0
    webhook_attempts: int = 4
    chunk_rows: int = 2_048
    stream_buffer: int = 4
    workers: int | None = None  # row-stage processes; None: by file size and cores

    def __post_init__(self) -> None:
        if self.list_name is not None and self.list_id is not None:
            raise ConfigError("give --list or --list-id, not both")
        if self.delimiter != "auto" and self.delimiter not in DELIMITERS:
            raise ConfigError(
                f"unknown delimiter {self.delimiter!r}: use auto, {', '.join(DELIMITERS)}"
            )
        if self.encoding != "auto":
            try:
                codec = codecs.lookup(self.encoding)
            except LookupError:
                raise ConfigError(f"unknown encoding {self.encoding!r}") from None
            if not codec._is_text_encoding:  # base64, rot13, ...: codecs, not encodings
                raise ConfigError(f"--encoding {self.encoding}: not a text encoding")
        if not self.has_header and not self.column_names:
            raise ConfigError("--no-header needs --columns naming every column")
        region = self.default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"unknown default region {self.default_region!r}: use e.g. US, GB")
        object.__setattr__(self, "default_region", region)
        if self.dedup not in DEDUP_MODES:
            raise ConfigError("--dedup must be off, exact or fuzzy")
        if self.invalid_email not in ("reject", "blank"):
            raise ConfigError("--invalid-email must be reject or blank")
        if self.allowed_countries is not None:
            unknown = sorted(self.allowed_countries - phonenumbers.SUPPORTED_REGIONS)
            if unknown:
                raise ConfigError(f"unknown countries in --allowed-countries: "
                                  f"{', '.join(unknown)} (use ISO codes such as US, CA)")
        if not 1 <= self.max_record_chars <= MAX_RECORD_CHARS:
            raise ConfigError(f"--max-record-chars must be between 1 and {MAX_RECORD_CHARS}")
        if not 1 <= self.batch_size <= MAX_RECORDS_PER_FILE:
            raise ConfigError(f"batch size must be between 1 and {MAX_RECORDS_PER_FILE:,}")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        if self.max_concurrency == 0:
            object.__setattr__(self, "max_concurrency", 4 * self.concurrency)
        if self.max_concurrency < self.concurrency:
            raise ConfigError("--max-concurrency must be at least --concurrency")
        if self.chunk_rows < 1 or self.stream_buffer < 1:
            raise ConfigError("chunk_rows and stream_buffer must be at least 1")
        if self.workers is not None and self.workers < 0:
            raise ConfigError("--workers must be 0 or more")
        if self.job_timeout <= 0:
            raise ConfigError("job timeout must be positive")
        if self.resend_rounds < 0:
            raise ConfigError("resend rounds must be 0 or more")
        if self.webhook_timeout <= 0 or self.webhook_attempts < 1:
            raise ConfigError("webhook timeout must be positive and attempts at least 1")
        if self.webhook_url is not None:
            require_safe_url(self.webhook_url)

    def describe(self) -> dict[str, object]:
        """The settings for a report: everything that shaped the run, never a secret."""
        described: dict[str, object] = json.loads(self.outcome_key())
        described |= {
            "batch_size": self.batch_size, "concurrency": self.concurrency,
            "max_concurrency": self.max_concurrency, "resend_rounds": self.resend_rounds,
            "retry_attempts": self.retry.attempts, "api_version": self.api_version,
            "webhook": bool(self.webhook_url), "webhook_signed": self.webhook_secret is not None,
        }
        return described

    @property
    def wants_dnc_groups(self) -> bool:
        return bool(self.dnc_groups or self.dnc_group_names)

    def outcome_key(self) -> str:
        """The settings that decide rows' outcomes, as one string: a run may only resume
        with the same (concurrency, retries or the webhook may change between tries)."""
        dnc = self.dnc_file
        return json.dumps({
            "delimiter": self.delimiter, "encoding": self.encoding,
            "has_header": self.has_header, "column_names": self.column_names,
            "columns": [getattr(self.columns, f) for f in self.columns.__slots__],
            "default_region": self.default_region, "invalid_email": self.invalid_email,
            "required_columns": self.required_columns,
            "allowed_countries": sorted(self.allowed_countries or ()),
            "dnc": [str(dnc), dnc.stat().st_size, dnc.stat().st_mtime_ns]
            if dnc is not None and dnc.exists() else None,
            "dnc_groups": [sorted(self.dnc_groups), sorted(self.dnc_group_names)],
            "max_record_chars": self.max_record_chars, "dry_run": self.dry_run,
            "dedup": self.dedup,
            "fuzzy": [getattr(self.fuzzy, f) for f in self.fuzzy.__slots__],
            "list": [self.list_name, self.list_id],
            "list_fields": [getattr(self.list_fields, f) for f in self.list_fields.__slots__],
            "verify": self.verify,
            # Another tenant is another run, whatever the file.
            "tenant": [self.credentials.issuer, self.credentials.api_base]
            if self.credentials is not None else None,
        }, sort_keys=True)

    def output_dir(self, input_path: Path) -> Path:
        """``--out``, or ``streamer-out/<file stem>/`` beside the current directory."""
        if self.out_dir is not None:
            return self.out_dir
        return Path("streamer-out") / input_path.name.split(".")[0]

    def target_list_name(self, input_path: Path) -> str:
        """``--list``, or the input file's stem when neither --list nor --list-id is given."""
        return self.list_name or input_path.name.split(".")[0]
