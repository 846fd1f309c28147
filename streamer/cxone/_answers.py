"""CXone's answers, read into typed results at the boundary.

Anything that is not the shape a call relies on is an
:class:`~streamer.errors.UnreadableAnswer` with one line naming what was missing, never
a ``KeyError`` deep in a run. Shapes CXone documents as untyped (a list's records, a DNC
group's records) are read by the field names streamer knows, each matched ignoring case
and underscores; a page none of whose records carries one of them stops the run, naming
the fields it did carry, rather than silently reading nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from streamer.cleaning import DncEntry, DncGroup
from streamer.delivery import JobState, RecordsPage, Removal
from streamer.errors import UnreadableAnswer

#: How many field names an error quotes from an unreadable record.
_FIELDS_QUOTED = 12


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    expires_in: float
    id_token: str | None


@dataclass(frozen=True, slots=True)
class ListEntry:
    list_id: int
    name: str
    status: str | None


def json_object(body: Any, what: str) -> dict[str, Any]:
    """The answer as a JSON object; ``None`` (no body) is an empty one."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise UnreadableAnswer(f"{what}: the answer is a JSON {type(body).__name__}, "
                               "not an object")
    return body


def integer(body: dict[str, Any], key: str, what: str) -> int:
    """``body[key]`` as an id or a count: a JSON integer or a string of digits."""
    value = body.get(key)
    if value is None:
        raise UnreadableAnswer(f"{what}: the answer has no {key}")
    number = _optional_int(body, key)
    if number is None:
        raise UnreadableAnswer(f"{what}: {key} is not a number: {str(value)[:40]!r}")
    return number


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    """``body[key]`` as an integer, if it is one (a JSON integer or a string of digits)."""
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _objects(body: dict[str, Any], key: str, what: str) -> list[dict[str, Any]]:
    """``body[key]`` as a list of objects (missing or null: none)."""
    items = body.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UnreadableAnswer(f"{what}: {key} is not a list of objects")
    return items


def text(body: dict[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UnreadableAnswer(f"{what}: the answer has no {key}")
    return value.strip()


def truthy(value: Any) -> bool:
    """CXone's booleans arrive as JSON booleans or as strings."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _fold(name: str) -> str:
    return name.replace("_", "").lower()


def field_reader(names: Sequence[str]) -> tuple[frozenset[str], str]:
    """What :func:`first_field` matches for ``names``, and how an error lists them."""
    return frozenset(_fold(n) for n in names), ", ".join(names)


def first_field(record: dict[str, Any], folded: frozenset[str]) -> str:
    """The record's value for the first key matching one of ``folded`` names; ``""``."""
    for key, value in record.items():
        if _fold(key) in folded and value not in (None, ""):
            return str(value)
    return ""


def _fields_seen(records: Iterable[dict[str, Any]]) -> str:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(map(str, record)))
    names = list(seen)
    more = f", ... ({len(names)} in all)" if len(names) > _FIELDS_QUOTED else ""
    return (", ".join(names[:_FIELDS_QUOTED]) or "none") + more


# -- auth and discovery -------------------------------------------------------------------


def token(body: Any, what: str) -> Token:
    answer = json_object(body, what)
    expires_in = answer.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 \
        else 3600.0
    id_token = answer.get("id_token")
    return Token(text(answer, "access_token", what), lifetime,
                 id_token if isinstance(id_token, str) and id_token else None)


# -- calling lists ------------------------------------------------------------------------


def lists_page(body: Any, what: str) -> list[ListEntry]:
    """A page of the lists collection."""
    return [ListEntry(integer(entry, "listId", what), str(entry.get("listName") or ""),
                      str(entry["status"]) if entry.get("status") else None)
            for entry in _objects(json_object(body, what), "callingLists", what)]


def records_page(body: Any, what: str, id_fields: Sequence[str]) -> RecordsPage:
    """A page of a list read back: the external ids its records carry."""
    result = json_object(json_object(body, what).get("resultSet"), what + " resultSet")
    records = _objects(result, "contactRecords", what)
    folded, spelled = field_reader(id_fields)
    ids = [value for record in records if (value := first_field(record, folded))]
    if records and not ids:
        raise UnreadableAnswer(
            f"{what}: the list's records carry none of the external id fields streamer "
            f"reads ({spelled}); their fields: {_fields_seen(records[:5])}. "
            "Name the right one (--record-id-field / ListFields.record_id_fields)")
    status = result.get("status")
    return RecordsPage(len(records), ids, _optional_int(result, "totalRecords"),
                       str(status) if status else None,
                       _optional_int(result, "validRecords"),
                       _optional_int(result, "invalidRecords"))


def list_name(body: Any, what: str) -> str:
    """One list's name, from ``GET /lists/call-lists/{listId}`` (``resultSet.listName``)."""
    return text(json_object(json_object(body, what).get("resultSet"), what + " resultSet"),
                "listName", what)


#: removeProspects' answer [C]: the ids it removed, and those it did not.
_REMOVED_KEYS = ("successfulRecords", "failedRecords")
#: Where a removal record says why, beyond its ``resultCode`` (inferred: not documented).
_REMOVAL_MESSAGES = ("resultMessage", "message", "errorMessage", "description")


def removals(body: Any, what: str, sent: Sequence[str], id_fields: Sequence[str]) -> list[Removal]:
    """removeProspects' answer, ``{successfulRecords: [{externalId, resultCode}],
    failedRecords: [...]}`` [C], as one :class:`Removal` per id of ``sent``, in order.

    Read leniently where the shape is only inferred: a list missing or null is empty (so
    is a body-less answer), the two may come wrapped in ``resultSet``, names match ignoring
    case and underscores, a result code may be a number or a string. An id the answer does
    not name is ``removed=None``: only the list can tell. What contradicts the call stops
    the run in one line naming what was seen: records that are not objects, a record
    without an external id, an id that was not sent, one id both removed and not.
    """
    answer = json_object(body, what)
    keys = {_fold(key): key for key in answer}
    if not any(_fold(k) in keys for k in _REMOVED_KEYS) and "resultset" in keys:
        answer = json_object(answer[keys["resultset"]], what + " resultSet")
        keys = {_fold(key): key for key in answer}
    folded, spelled = field_reader(id_fields)
    code = field_reader(("resultCode",))[0]
    message = field_reader(_REMOVAL_MESSAGES)[0]
    wanted = set(sent)
    said: dict[str, Removal] = {}
    for name, removed in zip(_REMOVED_KEYS, (True, False), strict=True):
        records = _objects(answer, keys.get(_fold(name), name), what)
        for record in records:
            external_id = first_field(record, folded)
            if not external_id:
                raise UnreadableAnswer(
                    f"{what}: a record of {name} carries none of the external id fields "
                    f"streamer reads ({spelled}); its fields: {_fields_seen([record])}")
            if external_id not in wanted:
                raise UnreadableAnswer(f"{what}: {name} names an external id that was not "
                                       f"sent (of {len(wanted):,} sent)")
            if said.get(external_id, Removal(external_id, removed)).removed is not removed:
                raise UnreadableAnswer(f"{what}: one external id is in both successfulRecords "
                                       "and failedRecords")
            result, why = first_field(record, code), first_field(record, message)
            said[external_id] = Removal(
                external_id, removed, f"{result}: {why}" if result and why and why != result
                else result or why)
    return [said.get(external_id) or Removal(external_id, None) for external_id in sent]


def job_state(body: Any, what: str, job_id: int) -> JobState:
    jobs = _objects(json_object(body, what), "uploadJobs", what)
    if not jobs:
        raise UnreadableAnswer(f"{what}: the answer holds no job")
    job = jobs[0]
    return JobState(job_id=job_id, is_complete=truthy(job.get("isComplete")),
                    is_cancelled=truthy(job.get("isCancelled")))


# -- do-not-call groups -------------------------------------------------------------------


def dnc_groups(body: Any, what: str) -> list[DncGroup]:
    result = json_object(json_object(body, what).get("resultSet"), what + " resultSet")
    return [DncGroup(integer(g, "dncGroupId", what), str(g.get("dncGroupName") or ""))
            for g in _objects(result, "dncGroups", what)]


def dnc_page(body: Any, what: str, phone_fields: Sequence[str]) -> tuple[list[DncEntry], int]:
    """A page of a DNC group: its entries, and how many records it held."""
    result = json_object(json_object(body, what).get("resultSet"), what + " resultSet")
    records = _objects(result, "dncRecords", what)
    folded, spelled = field_reader(phone_fields)
    expiry = field_reader(("expiredDate", "expirationDate"))[0]
    entries = [DncEntry(phone, first_field(record, expiry)) for record in records
               if (phone := first_field(record, folded))]
    if records and not entries:
        raise UnreadableAnswer(
            f"{what}: the DNC records carry none of the phone fields streamer reads "
            f"({spelled}); their fields: {_fields_seen(records[:5])}. "
            "Name the right one (--dnc-phone-field / ListFields.dnc_phone_fields)")
    return entries, len(records)
