"""Every setting of a run, in frozen objects: the single source of defaults and their help.

The command line reads each option's default and help from here (a field's ``help``
metadata, with ``{default}`` standing for its default), so a default is written once.
Credentials, which come only from the environment, are :mod:`streamer.credentials`; a
campaign file (TOML) is read by :func:`read_campaign_file` (:mod:`streamer._campaign_file`).
The parts a run's settings hold (columns, retries, upload options, list fields, fuzzy
dedup) live in :mod:`streamer._setting_parts` and are re-exported here.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Literal, get_args

from streamer._campaign_file import read_campaign_file as read_campaign_file
from streamer._setting_parts import CUSTOM_FIELDS_AS as CUSTOM_FIELDS_AS
from streamer._setting_parts import MAX_NAMESAKES as MAX_NAMESAKES
from streamer._setting_parts import Columns as Columns
from streamer._setting_parts import CustomFieldsAs as CustomFieldsAs
from streamer._setting_parts import FuzzySettings as FuzzySettings
from streamer._setting_parts import ListFields as ListFields
from streamer._setting_parts import RetryPolicy as RetryPolicy
from streamer._setting_parts import TimeZoneTable as TimeZoneTable
from streamer._setting_parts import UploadOptions as UploadOptions
from streamer._setting_parts import option as _option
from streamer.countries import region_for_country
from streamer.credentials import Credentials, Secret, require_safe_url
from streamer.errors import ConfigError
from streamer.fields import ListField, list_field
from streamer.limits import MAX_RECORD_CHARS, MAX_RECORDS_PER_FILE

Delimiter = Literal["auto", "comma", "tab", "semicolon"]
DELIMITERS: dict[str, str] = {"comma": ",", "tab": "\t", "semicolon": ";"}
DedupMode = Literal["off", "exact", "fuzzy"]
DEDUP_MODES: tuple[str, ...] = get_args(DedupMode)
InvalidEmail = Literal["reject", "blank"]
INVALID_EMAIL_ACTIONS: tuple[str, ...] = get_args(InvalidEmail)
#: A path as a caller may give one; :class:`Settings` keeps it as a :class:`Path`.
StrPath = str | PathLike[str]
#: ``--map`` entries: a list field as the user wrote it, and its input column(s).
FieldMapping = tuple[tuple[str, tuple[str, ...]], ...]


# -- the run ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything that shapes a run. Frozen: one object flows through every stage."""

    out_dir: StrPath | None = _option(None, "output directory (default: streamer-out/<file stem>/)")
    list_name: str | None = _option(
        None, "calling list to find by name, or create (default: the file stem)")
    list_id: int | None = _option(None, "id of an existing calling list")
    delimiter: Delimiter = _option(
        "auto", "field delimiter; auto picks the one splitting the header most "
        "(default: {default})")
    encoding: str = _option(
        "auto", "text encoding of the file, e.g. utf-8, cp1252, utf-16; auto detects "
        "UTF-8/UTF-16 by BOM and falls back to cp1252 (default: {default})")
    sheet: str | None = _option(
        None, "the sheet of an .xlsx workbook to read, by name (default: the first)")
    has_header: bool = _option(
        True, "the file has no header line; name the columns with --columns")
    column_names: tuple[str, ...] | None = _option(
        None, "column names, in order, for a file without a header")
    columns: Columns = field(default_factory=Columns)
    field_map: FieldMapping = _option(
        (), "map a list field to input column(s): FIELD=COLUMN; repeatable. FIELD is a "
        "system field (PhoneNumber, Email, Zip, TimeZone, ...), custom:NAME or phone:NAME; "
        "PhoneNumber may name several columns, first choice first: PhoneNumber=Mobile,Home")
    time_zone_from_phone: bool = _option(
        False, "fill an empty TimeZone from the number, where all its zones are one name "
        "of the time-zone table")
    mark_mobiles: bool = _option(
        False, "set Compliance to true for numbers libphonenumber types as mobile (never "
        "for North American numbers, where it cannot tell)")
    default_region: str = _option(
        "US", "region for phones written without +country code, when the row has no "
        "country: an ISO code or a country's name (default: {default})")
    invalid_email: InvalidEmail = _option(
        "reject", "an invalid email rejects the row, or is blanked and the row kept "
        "(default: {default})")
    required_columns: tuple[str, ...] = _option(
        (), "columns that must not be blank; a blank one rejects the row with "
        "missing_<column>")
    allowed_countries: frozenset[str] | None = _option(
        None, "the countries this campaign may call, as ISO codes or names (the row's "
        "country, else the phone's)")
    dnc_file: StrPath | None = _option(
        None, "do-not-call file: one number per line, in any format")
    dnc_groups: tuple[int, ...] = _option(
        (), "a CXone DNC group (by id) whose numbers are not called; repeatable, read-only")
    dnc_group_names: tuple[str, ...] = _option((), "a CXone DNC group by name; repeatable")
    max_record_chars: int = _option(
        MAX_RECORD_CHARS, "longest record as uploaded, at most CXone's 512 "
        "(default: {default})")
    dedup: DedupMode = _option(
        "fuzzy", "duplicates: none, the same phone/email/external id, or also the typos of "
        "the same person (default: {default})")
    fuzzy: FuzzySettings = field(default_factory=FuzzySettings)
    batch_size: int = _option(
        5_000, "records per uploaded file, at most 500,000 (default: {default})")
    concurrency: int = _option(
        4, "uploads in flight at the start (default: {default}); halved on each wave of "
        "429s, grown by one after a window of successes")
    max_concurrency: int = _option(
        0, "most uploads ever in flight (default: 4 x --concurrency)")  # 0: that default
    dry_run: bool = _option(
        False, "do everything but upload: the would-be upload files go to OUT/batches/")
    credentials: Credentials | None = None
    api_version: str = _option("v30.0", "CXone API version (default: {default})")
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    job_timeout: float = _option(
        600.0, "seconds to wait for one upload job to complete (default: {default:g})")
    job_poll_initial: float = 0.05
    job_poll_max: float = 5.0
    upload: UploadOptions = field(default_factory=UploadOptions)
    list_fields: ListFields = field(default_factory=ListFields)
    verify: bool = _option(
        True, "skip read-back reconciliation: rows count as uploaded when their job "
        "completes")
    restart: bool = _option(
        False, "discard an unfinished run's journal in --out and start over")
    audit_full_pii: bool = _option(
        False, "personal data in audit.jsonl: phones to their last 4 digits, emails to "
        "first letter and domain, external ids to their last 4 characters, or in full "
        "(default: masked)")
    resend_rounds: int = _option(
        2, "times rows missing from the list on read-back are re-sent before they fail "
        "(default: {default})")
    mirror: bool = _option(
        False, "make the list hold exactly this file's uploaded contacts: after the upload "
        "and read-back, remove its records whose external id is not among the rows uploaded "
        "(never when a row failed; refused past --mirror-max-remove)")
    mirror_max_remove: float = _option(
        0.2, "the largest share of the list --mirror may remove, 0 to 1; more is refused "
        "(default: {default:g})")
    webhook_url: str | None = _option(
        None, "POST a JSON summary here when the run ends (signed with "
        "STREAMER_WEBHOOK_SECRET when set)")
    webhook_secret: Secret | None = None
    webhook_timeout: float = 10.0
    webhook_attempts: int = 4
    chunk_rows: int = 2_048
    stream_buffer: int = 4
    workers: int | None = _option(
        None, "processes that normalise rows and check the campaign rules beside the main "
        "one (a single worker deduplicates too); 0 does it in process (default: 1 for "
        "inputs of 16 MiB or more, 0 below)")  # None: by file size

    def __post_init__(self) -> None:
        for name in ("out_dir", "dnc_file"):
            object.__setattr__(self, name, _as_path(name, getattr(self, name)))
        if self.list_name is not None and self.list_id is not None:
            raise ConfigError("give a list by name or by id, not both (--list / "
                              "Settings.list_name, --list-id / Settings.list_id)")
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
                raise ConfigError(f"encoding {self.encoding}: not a text encoding (--encoding / "
                                  "Settings.encoding)")
        if not self.has_header and not self.column_names:
            raise ConfigError("a file without a header needs every column named (--no-header with "
                              "--columns / Settings.has_header=False with Settings.column_names)")
        self.list_mapping()  # an unknown field, or a field given twice, stops here
        region = region_for_country(self.default_region)
        if region is None:
            raise ConfigError(f"unknown default region {self.default_region!r}: use e.g. US, "
                              "GB or a country's name (--default-region / "
                              "Settings.default_region)")
        object.__setattr__(self, "default_region", region)
        if self.dedup not in DEDUP_MODES:
            raise ConfigError("dedup must be off, exact or fuzzy (--dedup / Settings.dedup)")
        if self.invalid_email not in INVALID_EMAIL_ACTIONS:
            raise ConfigError("invalid_email must be reject or blank (--invalid-email / "
                              "Settings.invalid_email)")
        if self.allowed_countries is not None:
            regions = {name: region_for_country(name) for name in self.allowed_countries}
            if unknown := sorted(name for name, region in regions.items() if region is None):
                raise ConfigError(f"unknown allowed countries: {', '.join(unknown)} (use ISO codes "
                                  "such as US, CA, or countries' names; --allowed-countries "
                                  "/ Settings.allowed_countries)")
            object.__setattr__(self, "allowed_countries",
                               frozenset(region for region in regions.values() if region))
        if not 1 <= self.max_record_chars <= MAX_RECORD_CHARS:
            raise ConfigError(f"max_record_chars must be between 1 and {MAX_RECORD_CHARS} "
                              "(--max-record-chars / Settings.max_record_chars)")
        if not 1 <= self.batch_size <= MAX_RECORDS_PER_FILE:
            raise ConfigError(f"batch size must be between 1 and {MAX_RECORDS_PER_FILE:,}")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        if self.max_concurrency == 0:
            object.__setattr__(self, "max_concurrency", 4 * self.concurrency)
        if self.max_concurrency < self.concurrency:
            raise ConfigError("the most uploads in flight must be at least the starting number "
                              "(--max-concurrency / Settings.max_concurrency, --concurrency / "
                              "Settings.concurrency)")
        if self.chunk_rows < 1 or self.stream_buffer < 1:
            raise ConfigError("chunk_rows and stream_buffer must be at least 1")
        if self.workers is not None and self.workers < 0:
            raise ConfigError("workers must be 0 or more (--workers / Settings.workers)")
        if self.job_timeout <= 0:
            raise ConfigError("job timeout must be positive")
        if self.resend_rounds < 0:
            raise ConfigError("resend rounds must be 0 or more")
        if not 0.0 <= self.mirror_max_remove <= 1.0:
            raise ConfigError("mirror_max_remove must be a share between 0 and 1, not "
                              f"{self.mirror_max_remove!r} (--mirror-max-remove / "
                              "Settings.mirror_max_remove)")
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
            "mirror": self.mirror, "mirror_max_remove": self.mirror_max_remove,
        }
        return described

    def list_mapping(self) -> tuple[tuple[ListField, tuple[str, ...]], ...]:
        """``field_map`` with the ``columns`` chosen by flag, each field once, every name
        checked: what the input's columns are looked up for."""
        mapped: dict[str, tuple[ListField, tuple[str, ...]]] = {}
        for written, wanted in self.field_map:
            target = list_field(written)
            key = target.label.casefold()
            if key in mapped:
                raise ConfigError(f"{target.label} is mapped twice (--map / Settings.field_map)")
            names = tuple(name.strip() for name in wanted if name.strip())
            if not names:
                raise ConfigError(f"{target.label} is mapped to no column (--map / "
                                  "Settings.field_map)")
            if len(names) > 1 and target.name != "PhoneNumber":
                raise ConfigError(f"{target.label} is mapped to several columns: only "
                                  "PhoneNumber takes several (--map / Settings.field_map)")
            mapped[key] = (target, names)
        for attribute, name in (("phone", "PhoneNumber"), ("email", "Email"),
                                ("first_name", "FirstName"), ("last_name", "LastName"),
                                ("external_id", "ExternalId")):
            column = getattr(self.columns, attribute)
            if column is None:
                continue
            flag = f"--{attribute.replace('_', '-')}-column / Settings.columns.{attribute}"
            if name.casefold() in mapped:
                if mapped[name.casefold()][1] != (column,):
                    raise ConfigError(f"{name}: the column setting ({flag}) and the mapping "
                                      "(--map / Settings.field_map) name different columns")
                continue
            mapped[name.casefold()] = (list_field(name), (column,))
        return tuple(mapped.values())

    @property
    def derived_fields(self) -> tuple[str, ...]:
        """List fields streamer fills itself, uploaded even when no column maps them."""
        return (("TimeZone",) if self.time_zone_from_phone else ()) + (
            ("Compliance",) if self.mark_mobiles else ())

    @property
    def wants_dnc_groups(self) -> bool:
        return bool(self.dnc_groups or self.dnc_group_names)

    def outcome_key(self) -> str:
        """The settings that decide rows' outcomes, as one string: a run may only resume
        with the same (concurrency, retries or the webhook may change between tries).

        ``mirror`` and ``mirror_max_remove`` decide no row's outcome, only what happens to
        other records of the list once every row has one: a run stopped before its mirror
        may resume with it or without it, or with another share (the guard is checked on
        each try). A mirror under way is finished, never silently dropped: its journal
        refuses a resume without ``--mirror`` (:mod:`streamer.delivery._mirror`).
        """
        dnc = self.dnc_path
        return json.dumps({
            "delimiter": self.delimiter, "encoding": self.encoding, "sheet": self.sheet,
            "has_header": self.has_header, "column_names": self.column_names,
            "columns": [getattr(self.columns, f) for f in self.columns.__slots__],
            "field_map": self.field_map, "time_zone_from_phone": self.time_zone_from_phone,
            "mark_mobiles": self.mark_mobiles,
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
            # Where read-back finds an id decides no outcome: a run stopped for the wrong
            # field name resumes with the right one.
            "list_fields": [getattr(self.list_fields, f) for f in self.list_fields.__slots__
                            if f != "record_id_fields"],
            "verify": self.verify,
            # Another tenant is another run, whatever the file.
            "tenant": [self.credentials.issuer, self.credentials.api_base]
            if self.credentials is not None else None,
        }, sort_keys=True)

    @property
    def dnc_path(self) -> Path | None:
        """``dnc_file`` as the :class:`Path` it is kept as."""
        return None if self.dnc_file is None else Path(self.dnc_file)

    def output_dir(self, input_path: Path) -> Path:
        """``--out``, or ``streamer-out/<file stem>/`` beside the current directory."""
        if self.out_dir is not None:
            return Path(self.out_dir)
        return Path("streamer-out") / input_path.name.split(".")[0]

    def target_list_name(self, input_path: Path) -> str:
        """``--list``, or the input file's stem when neither --list nor --list-id is given."""
        return self.list_name or input_path.name.split(".")[0]


def _as_path(name: str, value: object) -> Path | None:
    """A path setting as a :class:`Path`: a ``str`` or any ``os.PathLike`` is taken."""
    if value is None or isinstance(value, Path):
        return value
    if isinstance(value, str | PathLike):
        return Path(value)
    raise TypeError(f"Settings.{name}: expected a path (str or os.PathLike), not "
                    f"{type(value).__name__}")
