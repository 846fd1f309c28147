"""The run's audit log: structlog JSON events, with secrets and personal data masked.

Each run writes its own ``audit.jsonl`` through a logger built for that run, so the
library never touches structlog's global configuration and two runs never mix events.
Masking goes by key (a phone, an email, an external id, a token); then, whatever the
key, every string has the run's credential values and any ``Bearer``/``Basic`` token
cut out, in case a server's answer quoted one back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, MutableMapping
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any, TextIO

import structlog
from structlog.typing import FilteringBoundLogger, Processor

from streamer.credentials import Secret, scrub
from streamer.run._local_io import writing
from streamer.settings import Settings

_SECRET_KEYS = frozenset({
    "access_token", "refresh_token", "id_token", "authorization", "password",
    "client_secret", "access_key_secret", "secret", "token",
})
_PHONE_KEYS = frozenset({"phone", "phone_number"})
_EMAIL_KEYS = frozenset({"email"})
#: Lowered: ``externalId`` is how CXone spells it, ``external_id`` how streamer does.
_EXTERNAL_ID_KEYS = frozenset({"external_id", "externalid", "external_ids", "externalids"})
MASK = "********"


def mask_phone(value: str) -> str:
    """Only the last four digits survive: enough to tell numbers apart in a support call."""
    digits = [c for c in value if c.isdigit()]
    return "*" * max(0, len(digits) - 4) + "".join(digits[-4:])


def mask_email(value: str) -> str:
    """The first letter and the domain survive."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else MASK


def mask_name(value: str) -> str:
    """Each word's first letter survives, as an email's does: enough to see two records
    name the same person, not enough to name them."""
    return " ".join(f"{word[:1]}***" for word in value.split())


def mask_external_id(value: str) -> str:
    """The last four characters survive, as with phones, when at least four more are
    hidden; a shorter id is hidden whole (its last four would be most of it)."""
    if len(value) < 8:
        return MASK
    return "*" * (len(value) - 4) + value[-4:]


def _masked(key: str, value: Any, *, pii: bool, secrets: tuple[Secret, ...]) -> Any:
    """``value`` as the audit may hold it: masked by its key, and (whatever the key) a
    string with the credentials cut out."""
    lowered = key.lower()
    if lowered in _SECRET_KEYS:
        return MASK
    if isinstance(value, dict):
        return {k: _masked(str(k), v, pii=pii, secrets=secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(key, item, pii=pii, secrets=secrets) for item in value]
    if not isinstance(value, str):
        return value
    if not pii:
        if lowered in _PHONE_KEYS:
            return mask_phone(value)
        if lowered in _EMAIL_KEYS:
            return mask_email(value)
        if lowered in _EXTERNAL_ID_KEYS:
            return mask_external_id(value)
    return scrub(value, secrets)


def redactor(*, full_pii: bool = False,
             secrets: Iterable[Secret] = ()) -> Callable[..., MutableMapping[str, Any]]:
    """A structlog processor: secrets always masked; phones, emails and external ids
    partly, unless ``full_pii`` (``--audit-pii full``). Then, the last line of defence:
    whatever its key, every string loses each of ``secrets`` and any ``Bearer``/``Basic``
    token, as :func:`streamer.credentials.scrub` does to a server's text. Nested dicts
    and lists are walked too."""
    values = tuple(secrets)

    def redact(
        logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event_dict.items():
            event_dict[key] = _masked(key, value, pii=full_pii, secrets=values)
        return event_dict

    return redact


class _AuditFile:
    """``audit.jsonl`` as structlog's logger: each event appended whole, in one write.

    Unbuffered, so nothing is left to flush (and fail) at close; a write the disk
    refuses (full, read-only) leaves as an :class:`~streamer.errors.OutputError`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with writing(path):
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                self._end_cut_line()
            except BaseException:
                os.close(self._fd)
                raise

    def _end_cut_line(self) -> None:
        """A run stopped by a full disk may have left half an event: end it, so the
        events this run appends stay one JSON object per line."""
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            os.write(self._fd, b"\n")

    def msg(self, message: str) -> None:
        data = memoryview((message + "\n").encode())
        with writing(self.path):
            while data:
                data = data[os.write(self._fd, data):]

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg

    def close(self) -> None:
        os.close(self._fd)


def open_audit_log(stack: ExitStack | AsyncExitStack, out_dir: Path, settings: Settings,
                   **context: Any) -> FilteringBoundLogger:
    """The run's logger, appending to ``out_dir/audit.jsonl`` until ``stack`` closes;
    personal data as ``settings`` says, its credentials never."""
    file = _AuditFile(out_dir / "audit.jsonl")
    stack.callback(file.close)
    secrets = settings.credentials.secret_values() if settings.credentials else ()
    if settings.webhook_secret is not None:
        secrets = (*secrets, settings.webhook_secret)
    return _logger(file, full_pii=settings.audit_full_pii, secrets=secrets, **context)


def audit_logger(file: TextIO, *, full_pii: bool = False, secrets: Iterable[Secret] = (),
                 **context: Any) -> FilteringBoundLogger:
    """A JSON-lines logger writing to ``file``, with ``context`` (e.g. run_id) on every event."""
    return _logger(structlog.WriteLogger(file), full_pii=full_pii, secrets=secrets, **context)


def _logger(output: Any, *, full_pii: bool, secrets: Iterable[Secret],
            **context: Any) -> FilteringBoundLogger:
    processors: list[Processor] = [
        structlog.processors.add_log_level,
        redactor(full_pii=full_pii, secrets=secrets),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(sort_keys=False),
    ]
    logger: FilteringBoundLogger = structlog.wrap_logger(
        output, processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    return logger.bind(**context)
