"""Network safety rules that every outgoing connection follows."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from streamer.errors import ConfigError

_LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in _LOOPBACK_NAMES


def require_safe_url(url: str) -> str:
    """``url`` if it is https, or plain http to this machine (the sandbox); else refuse.

    TLS verification itself is never turned off anywhere in streamer.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback(host):
        return url
    raise ConfigError(f"refusing {parts.scheme or 'schemeless'} URL {host!r}: use https")


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV
# Injection"); a leading apostrophe makes it plain text.
FORMULA_STARTS = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralize(text: str) -> str:
    """``text``, made safe to open in a spreadsheet; numbers (``+14155552671``) pass."""
    if text and text[0] in FORMULA_STARTS and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
