"""The sandbox's sign-in: OpenID discovery, the two token routes, the tenant's
configuration, and the check of each API call's bearer token (before any fault)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from aiohttp import web

from streamer.cxone._routes import SANDBOX_TOKEN
from streamer.cxone._sandbox_config import (
    Handler,
    SandboxConfig,
    auth_problem,
    is_api_path,
    problem,
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Auth:
    """Issues tokens and checks them; ``tokens_issued`` counts the grants.

    Access tokens are JWTs (HS256, the sandbox's own key) whose claims carry ``iss`` and
    ``tenantId``, so a client without an ``id_token`` can find its tenant.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._signing_key = secrets.token_bytes(32)
        self._tokens: dict[str, float] = {}
        self.tokens_issued = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every API call needs a live bearer token: without one it gets 401, never a
        fault (the faults' middleware comes after this one)."""
        if is_api_path(request.path):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
            if expires is None or expires <= time.monotonic():
                return problem(401, "invalid or expired token")
        return await handler(request)

    async def openid_configuration(self, request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.json_response({
            "issuer": base,
            "token_endpoint": base + SANDBOX_TOKEN,
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "grant_types_supported": ["password", "refresh_token", "authorization_code"],
        })

    async def password_token(self, request: web.Request) -> web.Response:
        """The password grant; the client authenticates by Basic header or in the form."""
        c = self.config
        form = await request.post()
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            client = base64.b64decode(encoded, validate=True).decode() if scheme == "Basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            client = ""
        if not client and "client_id" in form:
            client = f"{form.get('client_id')!s}:{form.get('client_secret')!s}"
        if client != f"{c.client_id}:{c.client_secret}":
            return auth_problem(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "password":
            return auth_problem(400, "unsupported_grant_type",
                                "the grant type is not supported here: use password")
        if form.get("username") != c.access_key_id or form.get("password") != c.access_key_secret:
            return auth_problem(400, "invalid_grant", "the access key is not valid")
        return self._issue_token(request, id_token=True)

    async def access_key_token(self, request: web.Request) -> web.Response:
        """The developer portal's route: the access key as JSON, no client."""
        try:
            body = await request.json()
            key_id, key_secret = body["accessKeyId"], body["accessKeySecret"]
        except (ValueError, KeyError, TypeError):
            return auth_problem(400, "invalid_request",
                                "accessKeyId and accessKeySecret are required")
        if (key_id, key_secret) != (self.config.access_key_id, self.config.access_key_secret):
            return auth_problem(401, "invalid_grant", "the access key is not valid")
        return self._issue_token(request, id_token=self.config.id_token)

    def _issue_token(self, request: web.Request, *, id_token: bool) -> web.Response:
        c = self.config
        issuer = f"{request.scheme}://{request.host}"
        now = int(time.time())
        claims = {"iss": issuer, "sub": f"user:{c.access_key_id}", "tenantId": c.tenant_id,
                  "iat": now, "exp": now + int(c.token_ttl)}
        token = self._jwt(claims | {"jti": secrets.token_urlsafe(12)})
        self._tokens[token] = time.monotonic() + c.token_ttl
        self.tokens_issued += 1
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "refresh_token": secrets.token_urlsafe(24),
            "expires_in": c.token_ttl,
        }
        if id_token:
            answer["id_token"] = self._jwt(claims | {"aud": c.client_id})
        return web.json_response(answer)

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims).encode())
        signature = hmac.new(self._signing_key, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{_b64url(signature.digest())}"

    async def cxone_configuration(self, request: web.Request) -> web.Response:
        """The tenant's configuration: every field CXone's answer is known to hold."""
        if request.query.get("tenantId") != self.config.tenant_id:
            return problem(404, "unknown tenant")
        base = f"{request.scheme}://{request.host}"
        return web.json_response({
            "private": False, "ui_endpoint": base, "auth_endpoint": base, "api_endpoint": base,
            "area": "sandbox", "cluster": "SB1", "domain": request.host,
            "acdDomain": request.host, "uhDomain": request.host,
            "tenantId": self.config.tenant_id, "globaldomain": request.host,
        })
