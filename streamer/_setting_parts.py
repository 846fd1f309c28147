"""The parts of a run's settings (input columns, retries, upload options, list fields,
fuzzy dedup), each a frozen object; :mod:`streamer.settings` re-exports them beside the
run's own :class:`~streamer.settings.Settings`, and says how defaults and help are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from streamer.errors import ConfigError
from streamer.fields import DEFAULT_TIME_ZONES

CustomFieldsAs = Literal["destination-mappings", "custom-field-mappings"]
CUSTOM_FIELDS_AS: tuple[str, ...] = get_args(CustomFieldsAs)
#: A tenant's time-zone names, each with the IANA zones that ring there.
TimeZoneTable = tuple[tuple[str, tuple[str, ...]], ...]


def option(default: Any, help: str) -> Any:
    """A field with the help the command line shows for it."""
    return field(default=default, metadata={"help": help})


# -- parts of a run's settings ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Columns:
    """Input header names chosen by the user; ``None`` means "recognise a usual spelling".

    Each (but the country, which is no list field) means the same as its ``--map``:
    ``phone`` is ``PhoneNumber``, ``email`` is ``Email``, and so on.
    """

    phone: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a failed request is retried (names follow stamina's; :mod:`streamer.retry`
    applies it). Waits grow as ``wait_initial * wait_exp_base ** (attempt - 1)``, capped
    at ``wait_max``, with full jitter; a ``Retry-After`` from the server wins.
    ``timeout`` bounds each request. An upload is tried ``attempts`` times; reads, job
    polls and sign-in retry instead for up to ``give_up_after`` seconds, however many
    tries that takes (a throttled server is waited out, not counted out).
    """

    attempts: int = 6
    timeout: float = 60.0
    give_up_after: float = option(
        600.0, "seconds reads of the list, job polls and sign-in keep retrying a server that "
        "throttles or fails, before the run gives up on them (default: {default:g})")
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_exp_base: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError("retry attempts must be at least 1")
        if self.give_up_after <= 0:
            raise ConfigError("retry give_up_after must be positive")
        if self.timeout <= 0 or self.wait_initial < 0 or self.wait_max < self.wait_initial:
            raise ConfigError("retry waits must satisfy 0 <= wait_initial <= wait_max")
        if self.wait_exp_base < 1:
            raise ConfigError("retry wait_exp_base must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadOptions:
    """The fields of CXone's upload body that are the user's choice."""

    skill_id: int | None = option(None, "skill the list's records are assigned to")
    default_time_zone: str | None = option(
        None, "time zone for records without one, e.g. Eastern")
    force_overwrite: bool = option(False, "send forceOverwrite=true with each upload")
    expiration_days: int = option(
        30, "records expire this many days after upload (default: {default})")
    start_skill: bool = option(False, "send startSkill=true with each upload")
    send_email: bool = option(False, "send sendEmail=true with each upload")


@dataclass(frozen=True, slots=True, kw_only=True)
class ListFields:
    """Names shared by the upload file and the list's column mapping.

    The upload file's headers are ours to choose; the mapping names them. CXone's own
    field names (``PhoneNumber`` in ``destinationMappings``, the external id key of a
    record read back, the number of a DNC record) are only partly documented, so they are
    settings too; the names read back are matched ignoring case and underscores, and the
    first one a record carries wins.
    """

    external_id_header: str = "ExternalId"
    phone_header: str = "PhoneNumber"
    first_name_header: str = "FirstName"
    last_name_header: str = "LastName"
    phone_field: str = "PhoneNumber"
    email_field: str = option(
        "Email", "the name the list's mapping gives the email field (inferred: CXone does "
        "not document it; default: {default})")
    custom_fields_as: CustomFieldsAs = option(
        "destination-mappings", "how the create call maps custom and phone: fields "
        "(inferred): as destinationMappings, or in customFieldMappings as older API "
        "versions did (default: {default})")
    time_zones: TimeZoneTable = option(
        DEFAULT_TIME_ZONES, "a time-zone name the tenant accepts, with the IANA zones it "
        "covers: NAME=ZONE,ZONE; repeatable, replaces the North American default table")
    record_id_fields: tuple[str, ...] = option(
        ("externalId",), "the field of a list's records read back that holds the external "
        "id; repeatable, the first a record carries wins; case and underscores are ignored "
        "(default: externalId)")
    dnc_phone_fields: tuple[str, ...] = option(
        ("phoneNumber", "formattedPhone"), "the field of a DNC group's records that holds the "
        "number; repeatable, as --record-id-field (default: phoneNumber, formattedPhone)")

    def __post_init__(self) -> None:
        if self.custom_fields_as not in CUSTOM_FIELDS_AS:
            raise ConfigError(f"custom_fields_as must be one of {', '.join(CUSTOM_FIELDS_AS)} "
                              "(--custom-fields-as / ListFields.custom_fields_as)")
        if not self.time_zones:
            raise ConfigError("the time-zone table is empty: give a zone (--time-zone NAME=ZONE / "
                              "ListFields.time_zones)")

    @property
    def upload_header(self) -> tuple[str, str, str, str]:
        return (self.external_id_header, self.phone_header, self.first_name_header,
                self.last_name_header)

    def time_zone_name(self, written: str) -> str | None:
        """The tenant's spelling of a time-zone name written in any case, else ``None``."""
        wanted = written.casefold()
        return next((name for name, _ in self.time_zones if name.casefold() == wanted), None)


#: A name's counters in the dedup index saturate here: the most ``max_namesakes`` can be.
MAX_NAMESAKES = 255


@dataclass(frozen=True, slots=True, kw_only=True)
class FuzzySettings:
    """How far apart two records may be and still be one person (the rules are in
    :mod:`streamer.cleaning.dedup`).

    ``max_email_edits``: typos allowed between two email local parts; 0 turns the
    ``similar_email`` rule off. ``email_chars_per_edit``: one typo is allowed per this
    many characters of the shorter local part (``annlee`` may have one, ``jose.garcia``
    two). ``max_phone_digit_differences``: wrong digits allowed between two numbers of
    equal length; 0 turns the ``similar_phone_same_name`` rule off. ``max_block_size``:
    the most kept contacts one blocking key holds; it bounds the cost of a lookup when a
    name is very common at one domain. ``max_namesakes``: kept contacts sharing a name
    that make it common: a common name's namesakes are not matched by a close number, and
    by an address only one typo off.
    """

    max_email_edits: int = option(
        2, "typos allowed between two email local parts of one person "
        "(0 to 3; default: {default}, and one per 5 characters)")
    email_chars_per_edit: int = 5
    max_phone_digit_differences: int = option(
        1, "wrong digits allowed between two numbers of one person with the same name "
        "(0 to 3; default: {default})")
    max_block_size: int = 16
    max_namesakes: int = option(
        64, "kept contacts sharing a name that make it common: a common name is matched by "
        "neither a number a digit off nor an address two typos off (1 to 255; default: "
        "{default})")

    def __post_init__(self) -> None:
        if not 0 <= self.max_email_edits <= 3:
            raise ConfigError("max_email_edits must be between 0 and 3 (--fuzzy-email-edits / "
                              "FuzzySettings.max_email_edits)")
        if self.email_chars_per_edit < 1:
            raise ConfigError("email_chars_per_edit must be at least 1")
        if not 0 <= self.max_phone_digit_differences <= 3:
            raise ConfigError("max_phone_digit_differences must be between 0 and 3 "
                              "(--fuzzy-phone-digits / FuzzySettings.max_phone_digit_differences)")
        if self.max_block_size < 1:
            raise ConfigError("max_block_size must be at least 1")
        if not 1 <= self.max_namesakes <= MAX_NAMESAKES:
            raise ConfigError(f"max_namesakes must be between 1 and {MAX_NAMESAKES} "
                              "(--fuzzy-max-namesakes / FuzzySettings.max_namesakes)")
