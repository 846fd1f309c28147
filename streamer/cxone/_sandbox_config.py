"""What the sandbox accepts and how badly it behaves; how it answers an error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from streamer.cxone._routes import API_ROOT
from streamer.limits import MAX_FILE_BYTES, MAX_PAGE_SIZE, MAX_RECORD_CHARS, MAX_RECORDS_PER_FILE

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: How read-back records may spell their field names (``externalId`` as written below).
RECORD_KEYS = ("camel", "pascal", "snake")


def _switch(default: T, help: str) -> T:
    """A switch with its help beside it, for the ``sandbox`` command's flags."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxConfig:
    """What the sandbox accepts and how badly it behaves. Deterministic for a given seed."""

    client_id: str = "sandbox"
    client_secret: str = "sandbox"
    access_key_id: str = "sandbox"
    access_key_secret: str = "sandbox"
    tenant_id: str = "11eb0000-5a4d-b0c5-0000-00000000c0de"
    token_ttl: float = 3600.0
    #: API requests per second per access token and endpoint (a token bucket each, as
    #: gateways limit routes apart: job polls do not eat the uploads' allowance);
    #: 0 means unlimited.
    rate_limit: float = 0.0
    #: Share of API requests answered 429 whatever the rate (half with Retry-After).
    throttle_rate: float = 0.0
    #: The Retry-After those 429s carry, in seconds.
    retry_after_s: int = 1
    #: Share of API requests answered 500 or 503.
    error_rate: float = 0.0
    #: Share of API requests whose connection is dropped: half before the request is
    #: handled, half after (the work is done but the answer is lost, as in real life).
    reset_rate: float = 0.0
    #: Milliseconds added to every API answer, give or take half of it at random.
    latency_ms: float = 0.0
    #: Milliseconds between an upload and its job completing.
    job_delay_ms: float = 0.0
    #: Share of upload jobs that end cancelled, storing nothing.
    cancel_rate: float = 0.0
    #: Share of records a completed job silently does not store (read-back catches them).
    lose_rate: float = 0.0
    seed: int = 0
    #: DNC groups to serve: (name, file of "number[,expiredDate]" lines).
    dnc_groups: tuple[tuple[str, str | PathLike[str]], ...] = ()
    max_records_per_file: int = MAX_RECORDS_PER_FILE
    max_file_bytes: int = MAX_FILE_BYTES
    max_record_chars: int = MAX_RECORD_CHARS
    # -- the API's unknowns, played one way or the other (help: the CLI's) -------------
    record_keys: str = _switch(
        "camel", "field names of records read back: camel (externalId, phoneNumber, "
        "firstName, lastName), pascal (ExternalId, ...) or snake (external_id, ...) "
        "(default: {default})")
    empty_204: bool = _switch(
        False, "empty collections (a page past the end, no lists, no jobs, no DNC groups "
        "or records) answer 204 No Content, with no body")
    dnc_phone_field: str = _switch(
        "phoneNumber", "the number's field in DNC records read back (adds take it or "
        "phoneNumber) (default: {default})")
    id_token: bool = _switch(
        True, "whether the access-key token route's answer has an id_token (off: only "
        "access_token, as its spec documents; a JWT whose claims name the tenant too)")
    echo_credentials: bool = _switch(
        False, "a fault: error answers echo the request's Authorization header and, on "
        "the token routes, the posted form or JSON (secrets too) in their text")

    def __post_init__(self) -> None:
        if self.record_keys not in RECORD_KEYS:
            raise ValueError(f"record_keys must be one of {', '.join(RECORD_KEYS)}, "
                             f"not {self.record_keys!r}")
        if not self.dnc_phone_field:
            raise ValueError("dnc_phone_field must name a field")
        object.__setattr__(self, "dnc_groups",
                           tuple((name, Path(file)) for name, file in self.dnc_groups))


def is_api_path(path: str) -> bool:
    """Whether ``path`` is under the API root, in any case (as IIS compares paths)."""
    return path.lower().startswith(API_ROOT.lower() + "/")


def problem(status: int, message: str, **headers: str) -> web.Response:
    """An API error: ``{"error", "message"}``."""
    return web.Response(text=_problem_text(message), status=status,
                        content_type="application/json", headers=headers or None)


def _problem_text(message: str) -> str:
    return json.dumps({"error": message, "message": message})


def not_found(message: str) -> web.HTTPNotFound:
    """An API 404 to raise, its body as :func:`problem`'s."""
    return web.HTTPNotFound(text=_problem_text(message), content_type="application/json")


def auth_problem(status: int, error: str, description: str) -> web.Response:
    """A sign-in error in the auth spec's schema: ``{"error", "errorDescription"}``."""
    return web.json_response({"error": error, "errorDescription": description},
                             status=status)


def paging(request: web.Request) -> tuple[int, int]:
    """``skip``/``top`` as CXone pages: top defaults to 50 and is capped at 100."""
    try:
        skip = max(0, int(request.query.get("skip", "0")))
        top = int(request.query.get("top", "50"))
    except ValueError:
        raise web.HTTPBadRequest(text=_problem_text("skip and top must be integers"),
                                 content_type="application/json") from None
    return skip, min(max(top, 1), MAX_PAGE_SIZE)


def collection(config: SandboxConfig, body: object, items: Sequence[object]) -> web.Response:
    """A page of a collection: ``body`` as JSON, or ``204`` when ``items`` is empty and
    the sandbox plays empty collections that way."""
    if config.empty_204 and not items:
        return web.Response(status=204)
    return web.json_response(body)
