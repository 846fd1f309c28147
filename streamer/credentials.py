"""Credentials, and the rule every URL they travel to must follow.

The only module that reads secrets, and only from the environment: never a flag or a file.
A :class:`Secret` never shows its value; only the request that carries it reveals it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import urlsplit

from streamer.errors import ConfigError

DEFAULT_ISSUER = "https://cxone.niceincontact.com"
ClientAuth = Literal["basic", "post"]
CLIENT_AUTH_METHODS: tuple[str, ...] = get_args(ClientAuth)
TokenRoute = Literal["password", "access-key"]
TOKEN_ROUTES: tuple[str, ...] = get_args(TokenRoute)
#: The areas whose hosts serve the access-key token route, as the developer portal
#: names them; the first is the default.
AREAS = ("na1", "au1", "eu1")


# -- network safety -----------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def require_safe_url(url: str) -> str:
    """``url`` if it is https, or plain http to this machine (the sandbox); else refuse.

    Every URL streamer connects to passes here: configured ones and discovered ones.
    TLS verification itself is never turned off anywhere in streamer.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback(host):
        return url
    raise ConfigError(f"refusing {parts.scheme or 'schemeless'} URL {host!r}: use https")


def redirect_target(location: str | None) -> str:
    """Where a redirect pointed, for an error: without its query (which may carry
    anything). Streamer never follows one: it would carry a credential along."""
    if not location:
        return "nowhere (no Location)"
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


#: An Authorization header's value as a server might echo it back: scheme and token.
_AUTHORIZATION = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
SCRUBBED = "[redacted]"


def scrub(text: str, secrets: Iterable[Secret | str] = ()) -> str:
    """``text`` (a server's word, about to reach a file or a log) without credentials.

    Every value of ``secrets`` is cut out wherever it appears, and so is any ``Bearer``
    or ``Basic`` token: a server that echoes a request back must not make streamer write
    what it sent. Values shorter than four characters are left alone (they would cut
    ordinary words; no real credential is that short).
    """
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) >= 4:
            text = text.replace(value, SCRUBBED)
    return _AUTHORIZATION.sub(lambda m: f"{m[1]} {SCRUBBED}", text)


class Secret:
    """A credential value whose ``repr`` and ``str`` never show it.

    Call :meth:`reveal` at the one place the value goes on the wire.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """How to reach a CXone tenant: the issuer, the app's client and the user's access key.

    ``token_route`` "password" is the OpenID password grant at the discovered token
    endpoint, with the client authenticated by HTTP Basic (``client_auth`` "basic") or in
    the form body ("post"); "access-key" posts the access key as JSON to the access-key
    token route on an area's host (:meth:`access_key_host`) and needs no client.
    ``api_base``, when set, skips the tenant's API discovery.
    """

    issuer: str = DEFAULT_ISSUER
    client_id: str = ""
    client_secret: Secret = field(default_factory=lambda: Secret(""))
    access_key_id: str
    access_key_secret: Secret
    client_auth: ClientAuth = "basic"
    token_route: TokenRoute = "password"
    api_base: str | None = None
    area: str | None = None
    access_key_host_url: str | None = None

    def __post_init__(self) -> None:
        if self.area is not None and self.area not in AREAS:
            raise ConfigError(f"CXONE_AREA {self.area!r}: use one of {', '.join(AREAS)}")
        if self.client_auth not in CLIENT_AUTH_METHODS:
            raise ConfigError(f"client auth must be one of {', '.join(CLIENT_AUTH_METHODS)}")
        if self.token_route not in TOKEN_ROUTES:
            raise ConfigError(f"token route must be one of {', '.join(TOKEN_ROUTES)}")
        if self.token_route == "password" and not (self.client_id and self.client_secret.reveal()):
            raise ConfigError("the password token route needs a client id and secret")

    def access_key_host(self) -> str:
        """Where the access-key token route lives: ``CXONE_ACCESS_KEY_HOST``, else the
        area's host (``CXONE_AREA``), else the issuer when it is not NICE's (a sandbox, a
        test double), else the first area's host."""
        if self.access_key_host_url:
            return self.access_key_host_url.rstrip("/")
        if self.area is None and self.issuer.rstrip("/") != DEFAULT_ISSUER:
            return self.issuer.rstrip("/")
        return f"https://{self.area or AREAS[0]}.nice-incontact.com"

    def secret_values(self) -> tuple[Secret, ...]:
        """Every value that must never reach a file or a log, for :func:`scrub`."""
        return (self.client_secret, self.access_key_secret)


_CLIENT_VARIABLES = ("CXONE_CLIENT_ID", "CXONE_CLIENT_SECRET")
_ACCESS_KEY_VARIABLES = ("CXONE_ACCESS_KEY_ID", "CXONE_ACCESS_KEY_SECRET")
CREDENTIAL_VARIABLES = _CLIENT_VARIABLES + _ACCESS_KEY_VARIABLES
#: Every variable streamer reads its credentials and the tenant's address from.
ENVIRONMENT_VARIABLES = (
    "CXONE_ISSUER", *CREDENTIAL_VARIABLES, "CXONE_CLIENT_AUTH", "CXONE_TOKEN_ROUTE",
    "CXONE_AREA", "CXONE_ACCESS_KEY_HOST", "CXONE_API_BASE", "STREAMER_WEBHOOK_SECRET")


def webhook_secret_from_env(environ: Mapping[str, str] | None = None) -> Secret | None:
    """``STREAMER_WEBHOOK_SECRET``, the key that signs webhook bodies, if set."""
    env = os.environ if environ is None else environ
    value = env.get("STREAMER_WEBHOOK_SECRET")
    return Secret(value) if value else None


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from ``CXONE_*`` variables; ``None`` when none of the four is set.

    Setting some but not all of the ones the token route needs is a mistake worth
    stopping for. Optional: ``CXONE_ISSUER``, ``CXONE_CLIENT_AUTH`` (basic|post),
    ``CXONE_TOKEN_ROUTE`` (password|access-key), ``CXONE_API_BASE``, ``CXONE_AREA``
    (na1|au1|eu1) and ``CXONE_ACCESS_KEY_HOST`` (where the access-key route lives).
    """
    env = os.environ if environ is None else environ
    if not any(env.get(name) for name in CREDENTIAL_VARIABLES):
        return None
    route = env.get("CXONE_TOKEN_ROUTE") or "password"
    needed = _ACCESS_KEY_VARIABLES if route == "access-key" else CREDENTIAL_VARIABLES
    missing = [name for name in needed if not env.get(name)]
    if missing:
        raise ConfigError(f"incomplete CXone credentials: {', '.join(missing)} not set")
    return Credentials(
        issuer=env.get("CXONE_ISSUER") or DEFAULT_ISSUER,
        client_id=env.get("CXONE_CLIENT_ID", ""),
        client_secret=Secret(env.get("CXONE_CLIENT_SECRET", "")),
        access_key_id=env["CXONE_ACCESS_KEY_ID"],
        access_key_secret=Secret(env["CXONE_ACCESS_KEY_SECRET"]),
        client_auth=env.get("CXONE_CLIENT_AUTH") or "basic",  # type: ignore[arg-type]
        token_route=route,  # type: ignore[arg-type]
        api_base=env.get("CXONE_API_BASE") or None,
        area=(env.get("CXONE_AREA") or "").strip().lower() or None,
        access_key_host_url=env.get("CXONE_ACCESS_KEY_HOST") or None,
    )
