"""The run's audit log: structlog JSON events, with secrets and personal data masked.

Each run writes its own ``audit.jsonl`` through a logger built for that run, so the
library never touches structlog's global configuration and two runs never mix events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
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


def _masked(key: str, value: Any, *, pii: bool) -> Any:
    lowered = key.lower()
    if lowered in _SECRET_KEYS:
        return MASK
    if isinstance(value, dict):
        return {k: _masked(str(k), v, pii=pii) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(key, item, pii=pii) for item in value]
    if not pii and isinstance(value, str):
        if lowered in _PHONE_KEYS:
            return mask_phone(value)
        if lowered in _EMAIL_KEYS:
            return mask_email(value)
    return value


def redactor(*, full_pii: bool = False) -> Callable[..., MutableMapping[str, Any]]:
    """A structlog processor: secrets always masked; phones and emails partly, unless
    ``full_pii`` (``--audit-pii full``). Nested dicts and lists are walked too."""

    def redact(
        logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event_dict.items():
            event_dict[key] = _masked(key, value, pii=full_pii)
        return event_dict

    return redact


def open_audit_log(stack: ExitStack | AsyncExitStack, out_dir: Path, *, full_pii: bool,
                   **context: Any) -> FilteringBoundLogger:
    """The run's logger, appending to ``out_dir/audit.jsonl`` until ``stack`` closes."""
    file = stack.enter_context(open(out_dir / "audit.jsonl", "a", encoding="utf-8"))  # noqa: SIM115
    return audit_logger(file, full_pii=full_pii, **context)


def audit_logger(file: TextIO, *, full_pii: bool = False, **context: Any) -> FilteringBoundLogger:
    """A JSON-lines logger writing to ``file``, with ``context`` (e.g. run_id) on every event."""
    logger: FilteringBoundLogger = structlog.wrap_logger(
        structlog.WriteLogger(file),
        processors=[
            structlog.processors.add_log_level,
            redactor(full_pii=full_pii),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    return logger.bind(**context)
