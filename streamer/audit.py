"""The run's audit log: structlog JSON events, with secrets and personal data masked.

Each run writes its own ``audit.jsonl`` through a logger built for that run, so the
library never touches structlog's global configuration and two runs never mix events.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import FilteringBoundLogger

_SECRET_KEYS = frozenset({
    "access_token", "refresh_token", "id_token", "authorization", "password",
    "client_secret", "access_key_secret", "secret", "token",
})
_PHONE_KEYS = frozenset({"phone", "phone_number"})
_EMAIL_KEYS = frozenset({"email"})
MASK = "********"


def mask_phone(value: str) -> str:
    """Only the last four digits survive: enough to tell numbers apart in a support call."""
    digits = [c for c in value if c.isdigit()]
    return "*" * max(0, len(digits) - 4) + "".join(digits[-4:])


def mask_email(value: str) -> str:
    """The first letter and the domain survive."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else MASK


def redact(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: mask secrets outright, and phones and emails partly."""
    for key, value in event_dict.items():
        lowered = key.lower()
        if lowered in _SECRET_KEYS:
            event_dict[key] = MASK
        elif lowered in _PHONE_KEYS and isinstance(value, str):
            event_dict[key] = mask_phone(value)
        elif lowered in _EMAIL_KEYS and isinstance(value, str):
            event_dict[key] = mask_email(value)
    return event_dict


def audit_logger(file: TextIO, **context: Any) -> FilteringBoundLogger:
    """A JSON-lines logger writing to ``file``, with ``context`` (e.g. run_id) on every event."""
    logger: FilteringBoundLogger = structlog.wrap_logger(
        structlog.WriteLogger(file),
        processors=[
            structlog.processors.add_log_level,
            redact,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    return logger.bind(**context)
