"""The run's settings in words, for the report page: what a manager needs to know of how
the file was read, cleaned and uploaded, never a raw Python value (``report.json`` keeps
those). A setting this module does not know is still shown, its name and value in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

#: Order of FuzzySettings' fields as report.json lists them.
_FUZZY = ("max_email_edits", "email_chars_per_edit", "max_phone_digit_differences",
          "max_block_size", "max_namesakes")
#: Settings the page leaves to report.json: the list's wire names and the API's address.
_NOT_SHOWN = frozenset({"list_fields", "tenant", "api_version", "columns", "column_names",
                        "max_concurrency", "webhook_signed", "mirror_max_remove"})


def in_words(value: object) -> str:
    """Any setting's value as text: yes/no, none, lists joined, numbers grouped."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(in_words(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {in_words(v)}" for k, v in value.items())
    return str(value)


def _fuzzy(s: dict[str, Any]) -> str:
    fuzzy = s.get("fuzzy")
    values = dict(zip(_FUZZY, fuzzy, strict=False)) if isinstance(fuzzy, list) else fuzzy or {}
    parts = []
    if edits := values.get("max_email_edits"):
        parts.append(f"emails up to {edits} typo{'s' if edits != 1 else ''} apart (one per "
                     f"{values.get('email_chars_per_edit', '?')} characters) with the same name")
    if digits := values.get("max_phone_digit_differences"):
        parts.append(f"numbers up to {digits} digit{'s' if digits != 1 else ''} apart with "
                     "the same name")
    text = "; ".join(parts) or "no near matches"
    if namesakes := values.get("max_namesakes"):
        text += f"; a name shared by {namesakes} or more contacts is too common to match nearly"
    return text


def _dedup(s: dict[str, Any]) -> str:
    mode = s.get("dedup")
    if mode == "off":
        return "not looked for"
    exact = "same number, same email or same external id"
    return exact if mode == "exact" else f"{exact}; fuzzy matching: {_fuzzy(s)}"


def _list(value: Any) -> str:
    name, list_id = [*value, None, None][:2] if isinstance(value, list) else (None, None)
    if list_id is not None:
        return f"list id {list_id}"
    return f'"{name}"' if name else "named after the file"


def _dnc(value: Any) -> str:
    return PurePath(str(value[0])).name if isinstance(value, list) and value else "none"


def _dnc_groups(value: Any) -> str:
    groups = [str(g) for part in (value or []) for g in (part or [])]
    return ", ".join(groups) or "none"


#: Each known setting: its label and how its value reads.
_KNOWN: dict[str, tuple[str, Callable[[Any], str]]] = {
    "dry_run": ("Dry run", lambda v: "yes: nothing was uploaded" if v else "no"),
    "list": ("Calling list", _list),
    "default_region": ("Numbers without +country code read as", in_words),
    "allowed_countries": ("Countries allowed", lambda v: in_words(v) if v else "all"),
    "invalid_email": ("An invalid email", lambda v: {
        "reject": "rejects the row", "blank": "is blanked, the row kept"}.get(v, in_words(v))),
    "required_columns": ("Columns that must be filled", lambda v: in_words(v) if v
                         else "the phone only"),
    "dnc": ("Do-not-call file", _dnc),
    "dnc_groups": ("CXone do-not-call groups", _dnc_groups),
    "max_record_chars": ("Longest record accepted", lambda v: f"{in_words(v)} characters"),
    "encoding": ("Text encoding", lambda v: "detected" if v == "auto" else in_words(v)),
    "delimiter": ("Field delimiter", lambda v: "detected" if v == "auto" else in_words(v)),
    "has_header": ("First line", lambda v: "the column names" if v else "data (no header)"),
    "field_map": ("Extra list fields", lambda v: ", ".join(
        f"{pair[0]} from {in_words(pair[1])}" for pair in v) if v else "none"),
    "time_zone_from_phone": ("Time zones filled from the number", in_words),
    "mark_mobiles": ("Mobiles marked for compliance", in_words),
    "verify": ("Upload checked by reading the list back", in_words),
    "batch_size": ("Rows per upload", in_words),
    "resend_rounds": ("Re-sends of rows missing after upload", lambda v: f"up to {v} rounds"),
    "retry_attempts": ("Attempts per request", in_words),
    "webhook": ("Webhook called at the end", in_words),
    "mirror": ("Records not in this file removed from the list (mirror)", in_words),
}


def settings_in_words(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, words) for each setting a person would ask about, known ones first."""
    rows = [(label, words(settings[key])) for key, (label, words) in _KNOWN.items()
            if key in settings]
    if "dedup" in settings:
        rows.insert(1, ("Duplicates", _dedup(settings)))
    if "concurrency" in settings:
        top = settings.get("max_concurrency")
        rows.append(("Uploads at once", f"{settings['concurrency']} to start"
                     + (f", up to {top} (fewer when CXone answers 429)" if top else "")))
    if settings.get("mirror") and "mirror_max_remove" in settings:
        rows.append(("Mirror removes at most", f"{100 * settings['mirror_max_remove']:g} % "
                     "of the list"))
    shown = {*_KNOWN, "dedup", "fuzzy", "concurrency", *_NOT_SHOWN}
    rows += [(key.replace("_", " ").capitalize(), in_words(value))
             for key, value in sorted(settings.items()) if key not in shown]
    return rows
