"""Every CXone route streamer knows, in one table: the client formats them, the sandbox
serves them. Paths are relative to the host, or to the API base once it is known."""

from __future__ import annotations

import re

# -- on the issuer (or the tenant's auth host) ---------------------------------------------
#: OpenID discovery: names the token endpoint.
OPENID_CONFIGURATION = "/.well-known/openid-configuration"
#: The tenant's configuration (``?tenantId=``): names its API host.
CXONE_CONFIGURATION = "/.well-known/cxone-configuration"
#: The developer portal's token route: the access key as JSON, no client.
ACCESS_KEY_TOKEN = "/authentication/v1/token/access-key"
#: The sandbox's password-grant token endpoint (a real tenant's is discovered).
SANDBOX_TOKEN = "/auth/token"

# -- the API, on the tenant's API host -----------------------------------------------------
API_ROOT = "/inContactAPI"
#: Where every route below lives: the API host plus this, for one API version.
API_BASE = API_ROOT + "/services/{version}"
CALL_LISTS = "/lists/call-lists"
CALL_LIST = "/lists/call-lists/{listId}"
CALL_LIST_UPLOAD = "/lists/call-lists/{listId}/upload"
#: [C] ``DELETE`` with ``{"prospectsToRemove": [{"externalId": ...}]}``: records removed by
#: external id, answered per record. It names the list by name, not id.
CALL_LIST_REMOVE_PROSPECTS = "/lists/call-lists/{listName}/removeProspects"
UPLOAD_JOBS = "/lists/call-lists/jobs"
UPLOAD_JOB = "/lists/call-lists/jobs/{jobId}"
DNC_GROUPS = "/dnc-groups"
DNC_GROUP_RECORDS = "/dnc-groups/{groupId}/records"

#: What each kind of path parameter must look like, for a server's router.
_PARAMETER_PATTERNS = {"version": r"v[0-9]+\.0", "listName": r"[^/]+"}
_ID = r"\d+"


def api_base(host: str, version: str) -> str:
    """The API base URL on ``host`` for ``version`` (e.g. ``v30.0``)."""
    return host.rstrip("/") + API_BASE.format(version=version)


def is_api_base(url: str) -> bool:
    """Whether ``url`` already names the API base (holds the API root), not only a host.
    Case is ignored: CXone's servers do, and clients write ``/incontactapi/`` too."""
    return API_ROOT.lower() + "/" in url.lower()


def server_pattern(route: str) -> str:
    """``route`` as an aiohttp router pattern: ids are digits, the version ``vN.0``."""
    return re.sub(r"\{(\w+)\}",
                  lambda m: f"{{{m[1]}:{_PARAMETER_PATTERNS.get(m[1], _ID)}}}", route)
