"""A calling list's fields: the one table of CXone's system fields, what each holds and
how the list's create call maps it, and where each mapped field sits in an input row.

What is known of each field is marked as ``cxone-api.md`` in the repository's docs marks
it: **C** confirmed by NICE (the create call's ``*Column`` query parameters, the system
field names of NICE's field-mapping help), **I** inferred (the ``destinationMappings``
name of a field the create call has no parameter for, custom fields' shape). Whatever is
inferred is a setting (:class:`streamer.settings.ListFields`).

Imports nothing of streamer but its errors: every other module may use these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from streamer.errors import ConfigError


class FieldKind(StrEnum):
    """What a field holds, which decides how its values are checked before upload."""

    TEXT = "text"  # uploaded as written, trimmed
    NAME = "name"  # trimmed, runs of spaces made one
    PHONE = "phone"  # normalised to E.164
    EMAIL = "email"  # validated and lower-cased
    INTEGER = "integer"  # digits, optionally signed; uploaded as written
    DATE = "date"  # ISO 8601 date or date and time; uploaded as written
    BOOLEAN = "boolean"  # true/false, yes/no, y/n, 1/0; uploaded as written
    TIME_ZONE = "time_zone"  # one of the tenant's time-zone names (ListFields.time_zones)


@dataclass(frozen=True, slots=True)
class ListField:
    """One field of a calling list: a system field, or a custom one (``custom:`` text,
    ``phone:`` a number)."""

    name: str
    kind: FieldKind
    #: The create call's query parameter naming the field's CSV header **[C]**; ``None``:
    #: mapped in the create body instead (``destinationMappings`` or custom fields).
    create_param: str | None = None
    custom: bool = False
    #: Whether NICE documents how the create call maps it (else it is inferred).
    confirmed: bool = True

    @property
    def label(self) -> str:
        """How the user writes it in ``--map``."""
        if not self.custom:
            return self.name
        return f"{'phone' if self.kind is FieldKind.PHONE else 'custom'}:{self.name}"

    @property
    def slug(self) -> str:
        """``CallRequestStaleMinutes`` → ``call_request_stale_minutes``: the field in a
        reason code (``invalid_<slug>``)."""
        if self.custom:
            return re.sub(r"[\W_]+", "_", self.name.casefold()).strip("_")
        return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", self.name).lower()

    @property
    def record_key(self) -> str:
        """The field's key in a record read back: camelCase for system fields
        (``smsPhoneNumber``), a custom field's own name."""
        if self.custom:
            return self.name
        head = re.match(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]", self.name)
        assert head is not None
        return head[0].lower() + self.name[head.end():]


_K = FieldKind
#: CXone's system fields, in the order the upload file carries them.
SYSTEM_FIELDS: tuple[ListField, ...] = (
    ListField("ExternalId", _K.TEXT, "externalIdColumn"),
    ListField("PhoneNumber", _K.PHONE),  # destinationMappings: seen in third-party code
    ListField("FirstName", _K.NAME, "firstNameColumn"),
    ListField("LastName", _K.NAME, "lastNameColumn"),
    ListField("Address", _K.TEXT, "addressColumn"),
    ListField("City", _K.TEXT, "cityColumn"),
    ListField("State", _K.TEXT, "stateColumn"),
    ListField("Zip", _K.TEXT, "zipColumn"),
    ListField("TimeZone", _K.TIME_ZONE, "timeZoneColumn"),
    ListField("Email", _K.EMAIL, confirmed=False),  # its mapping name is a setting
    ListField("Score", _K.INTEGER, "scoreColumn"),
    ListField("Priority", _K.INTEGER, "priorityColumn"),
    ListField("CallerID", _K.TEXT, "callerIdColumn"),
    ListField("Notes", _K.TEXT, "notesColumn"),
    ListField("Agent", _K.TEXT, "agentIdColumn"),
    ListField("ExpirationDate", _K.DATE, "expirationDateColumn"),
    ListField("CallRequestDateTime", _K.DATE, "callRequestTimeColumn"),
    ListField("CallRequestStaleMinutes", _K.INTEGER, "callRequestStaleColumn"),
    ListField("ConfirmationRequired", _K.BOOLEAN, "confirmReqColumn"),
    ListField("Compliance", _K.BOOLEAN, "complianceReqColumn"),
    ListField("OverrideFinalizationStatuses", _K.TEXT, "overrideFinalizationColumn"),
    ListField("SMSPhoneNumber", _K.PHONE, confirmed=False),  # destinationMappings
)
_BY_NAME = {f.name.casefold(): f for f in SYSTEM_FIELDS}
#: The fields every upload file carries, mapped or not (what streamer uploaded first).
BASE_FIELDS = SYSTEM_FIELDS[:4]
#: Phone numbers one record may hold (PhoneNumber, SMSPhoneNumber and ``phone:`` fields).
MAX_PHONES = 6
FIELD_CHOICES = ", ".join(f.name for f in SYSTEM_FIELDS) + ", custom:NAME, phone:NAME"


def list_field(text: str) -> ListField:
    """The field ``--map`` names: a system field (any case), ``custom:NAME`` or
    ``phone:NAME``; an unknown one is a :class:`ConfigError` listing the choices."""
    prefix, colon, name = text.strip().partition(":")
    if colon and prefix.strip().casefold() in ("custom", "phone"):
        name = name.strip()
        if not name:
            raise ConfigError(f"list field {text!r}: the custom field needs a name (--map / "
                              "Settings.field_map)")
        kind = FieldKind.PHONE if prefix.strip().casefold() == "phone" else FieldKind.TEXT
        return ListField(name, kind, custom=True, confirmed=False)
    found = _BY_NAME.get(text.strip().casefold())
    if found is None:
        raise ConfigError(f"unknown list field {text.strip()!r} (--map / Settings.field_map); "
                          f"choose from {FIELD_CHOICES}")
    return found


#: The time-zone names a tenant accepts **[I]** (NICE's list is not published in a
#: machine-readable form), each with the IANA zones libphonenumber may give a number that
#: rings there. North American names by default; ``ListFields.time_zones`` replaces them.
DEFAULT_TIME_ZONES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Eastern", ("America/New_York", "America/Detroit", "America/Toronto",
                 "America/Indiana/Indianapolis", "America/Kentucky/Louisville")),
    ("Central", ("America/Chicago", "America/Winnipeg", "America/North_Dakota/Center")),
    ("Mountain", ("America/Denver", "America/Boise", "America/Edmonton")),
    ("Arizona", ("America/Phoenix",)),
    ("Pacific", ("America/Los_Angeles", "America/Vancouver")),
    ("Alaska", ("America/Anchorage", "America/Juneau")),
    ("Hawaii", ("Pacific/Honolulu",)),
    ("Atlantic", ("America/Halifax", "America/Puerto_Rico")),
    ("Newfoundland", ("America/St_Johns",)),
)


@dataclass(frozen=True, slots=True)
class MappedColumn:
    """A list field beyond the four every upload carries, and the input column it reads
    (``None``: a ``phone:`` field filled only by the primary number's fallbacks)."""

    field: ListField
    column: int | None
    #: For a column of PhoneNumber's fallback list: its number is this field's only when
    #: another column's number became the primary.
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each field sits in a row (``None``: the file has no such column), and what
    the upload file carries."""

    header: tuple[str, ...]
    phone: int
    email: int | None
    first_name: int | None
    last_name: int | None
    country: int | None
    external_id: int | None
    #: PhoneNumber's columns, first choice first (``phone`` is the first).
    phones: tuple[int, ...] = ()
    #: Every other mapped field, in the upload file's order after the base four.
    extras: tuple[MappedColumn, ...] = ()
    #: The upload file's header for the base four (the list's mapping names them).
    base_header: tuple[str, ...] = ("ExternalId", "PhoneNumber", "FirstName", "LastName")

    @property
    def other_phones(self) -> tuple[tuple[int, str], ...]:
        """Where the secondary numbers sit in ``row.extra``, with their fields' names."""
        return tuple((at, extra.field.name) for at, extra in enumerate(self.extras)
                     if extra.field.kind is FieldKind.PHONE)

    @property
    def upload_header(self) -> tuple[str, ...]:
        return self.base_header + tuple(extra.field.name for extra in self.extras)

    def described(self) -> dict[str, str]:
        """Each list field the upload carries and the input column(s) it comes from, for
        the report."""
        def named(at: int | None) -> str:
            return self.header[at] if at is not None else "(filled by streamer)"

        base = {"ExternalId": named(self.external_id) if self.external_id is not None
                else "(made from the number)",
                "PhoneNumber": ", ".join(named(at) for at in self.phones or (self.phone,)),
                "FirstName": named(self.first_name) if self.first_name is not None else "",
                "LastName": named(self.last_name) if self.last_name is not None else ""}
        return {name: column for name, column in base.items() if column} | {
            extra.field.label: named(extra.column) for extra in self.extras}

    @property
    def list_mapping(self) -> ListMapping:
        """Every field the list's mapping names, with its header in the upload file."""
        fields = BASE_FIELDS + tuple(extra.field for extra in self.extras)
        return tuple(zip(fields, self.upload_header, strict=True))


#: A list's mapping: each list field with the upload file's header that holds it.
ListMapping = tuple[tuple[ListField, str], ...]
#: The mapping of the base four under their usual headers.
BASE_MAPPING: ListMapping = tuple(zip(BASE_FIELDS, (f.name for f in BASE_FIELDS), strict=True))
