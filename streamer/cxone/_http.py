"""One HTTP exchange with CXone, and every way it can go wrong, translated at one boundary.

- Redirects are never followed: nothing in CXone's API redirects, and a followed redirect
  would carry the access key (or a token) to wherever the server pointed. A 3xx is an
  error naming its target.
- Bodies are read only as far as they may be trusted: an answer up to
  :data:`MAX_ANSWER_BYTES`, an error only as far as its message (:data:`ERROR_BYTES`).
- ``204 No Content`` where a JSON answer is expected is an empty answer (``None``).
- A server's text reaches an error message only scrubbed of credentials
  (:func:`~streamer.credentials.scrub`): a server may echo the request back.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from streamer.credentials import Secret, redirect_target, scrub
from streamer.errors import HTTPStatusError, TransportError, UnreadableAnswer
from streamer.retry import parse_retry_after

#: The largest answer streamer reads (a page of 100 records is some 50 KB): a server
#: that sends more is misbehaving, and must not take the run's memory with it.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
#: How much of an error answer is read: enough for its message, never a whole dump.
ERROR_BYTES = 64 * 1024
#: How much of a server's message goes into an error (and so into failed.csv).
_MESSAGE_CHARS = 200
#: Where an error body keeps its words, by the schemas seen: the auth spec's
#: ``{error, errorDescription}``, OAuth's ``error_description``, the API's ``message``.
_DESCRIPTION_KEYS = ("errorDescription", "error_description", "message", "Message",
                     "description")


class Http:
    """Sends requests on a caller's session; knows which values must never be written."""

    def __init__(self, session: aiohttp.ClientSession,
                 secrets: Callable[[], Iterable[Secret | str]]) -> None:
        self._session = session
        self._secrets = secrets

    def scrub(self, text: str) -> str:
        return scrub(text, self._secrets())

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        bearer: str | None = None,
        basic: tuple[str, Secret] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> Any:
        """One exchange: the answer's JSON (``None`` when empty), or a translated error."""
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        if basic is not None:
            pair = f"{basic[0]}:{basic[1].reveal()}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        what = f"{method} {urlsplit(url).path}"
        try:
            async with self._session.request(
                method, url, params=params, json=json_body, data=data, headers=headers,
                allow_redirects=False,
            ) as response:
                if 300 <= response.status < 400:
                    target = redirect_target(response.headers.get("Location"))
                    raise HTTPStatusError(response.status, self.scrub(
                        f"{what} was redirected to {target}; streamer never follows a "
                        "redirect: check the configured URL"))
                if response.status not in expect and not (
                        response.status == 204 and 200 in expect):
                    text = await _read_text(response, ERROR_BYTES)
                    raise HTTPStatusError(
                        response.status, _message(text, response.reason, self.scrub),
                        retry_after=parse_retry_after(response.headers.get("Retry-After")))
                body = await _read_body(response, what)
        except (aiohttp.ClientError, TimeoutError) as error:
            # str() of a connection error names the host, never a header or body.
            raise TransportError(self.scrub(f"{what}: {type(error).__name__}: {error}")) from None
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise UnreadableAnswer(f"{what}: the answer is not JSON") from None


async def _read_body(response: aiohttp.ClientResponse, what: str) -> bytes:
    """The whole answer, unless it is larger than streamer ever reads."""
    too_large = UnreadableAnswer(f"{what}: an answer over the {MAX_ANSWER_BYTES >> 20} MB "
                                 "streamer reads")
    if (response.content_length or 0) > MAX_ANSWER_BYTES:
        raise too_large
    body = await _read_at_most(response, MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise too_large
    return body


async def _read_text(response: aiohttp.ClientResponse, limit: int) -> str:
    """The first ``limit`` bytes of an answer as text; the rest is never read."""
    return (await _read_at_most(response, limit)).decode("utf-8", errors="replace")


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The answer's first ``limit`` bytes: reading stops there."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(1 << 16):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _message(text: str, reason: str | None, scrub: Callable[[str], str]) -> str:
    """A short message from an error body: its JSON error fields, or its first characters.
    Scrubbed before it is cut short, so no part of a credential survives the cut."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    message = " ".join(text.split()) or reason or "no message"
    if isinstance(body, dict):
        code = body.get("error")
        description = next((body[k] for k in _DESCRIPTION_KEYS if body.get(k)), None)
        if code and description and str(code) != str(description):
            message = f"{code}: {description}"
        elif code or description:
            message = str(description or code)
    return scrub(message)[:_MESSAGE_CHARS]
