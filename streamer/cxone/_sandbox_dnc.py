"""The sandbox's DNC groups: read-only to streamer, filled from files or by tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from streamer.cxone._sandbox_config import (
    SandboxConfig,
    collection,
    not_found,
    paging,
    problem,
)


@dataclass(slots=True)
class _DncGroup:
    group_id: int
    name: str
    #: ``{"phoneNumber", "expiredDate"}`` each, whatever the field is called on the wire.
    records: list[dict[str, str | None]] = field(default_factory=list)


class DncGroups:
    """The groups a sandbox serves, loaded from ``config.dnc_groups``' files."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._groups: dict[int, _DncGroup] = {}
        for name, path in config.dnc_groups:
            group_id = self.add(name)
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                number, _, until = line.strip().partition(",")
                if number and not number.startswith("#"):
                    self._groups[group_id].records.append(
                        {"phoneNumber": number.strip(), "expiredDate": until.strip() or None})

    def add(self, name: str) -> int:
        """A new, empty DNC group (CXone's API has no call for this; the admin UI does)."""
        group_id = 7001 + len(self._groups)
        self._groups[group_id] = _DncGroup(group_id, name)
        return group_id

    def _group(self, request: web.Request) -> _DncGroup:
        group = self._groups.get(int(request.match_info["groupId"]))
        if group is None:
            raise not_found("no such DNC group")
        return group

    async def get_groups(self, request: web.Request) -> web.Response:
        groups = [{"dncGroupId": g.group_id, "dncGroupName": g.name,
                   "dncGroupDescription": "", "recordCount": len(g.records), "isActive": True}
                  for g in self._groups.values()]
        return collection(self.config, {"resultSet": {"totalGroups": len(groups),
                                                      "dncGroups": groups}}, groups)

    async def get_records(self, request: web.Request) -> web.Response:
        group = self._group(request)
        skip, top = paging(request)
        phone = self.config.dnc_phone_field
        page = [{phone: r["phoneNumber"], "expiredDate": r["expiredDate"]}
                for r in group.records[skip : skip + top]]
        return collection(self.config, {"resultSet": {
            "totalRecords": len(group.records), "dncRecords": page}}, page)

    async def add_records(self, request: web.Request) -> web.Response:
        """Adds each entry with a number (``phoneNumber``, or the configured field);
        answers per record, as ``{resultSet: {errorCount, recordResults}}``."""
        group = self._group(request)
        try:
            entries = (await request.json())["dncGroupRecords"]
        except (ValueError, KeyError, TypeError):
            return problem(400, "dncGroupRecords must list phoneNumber entries")
        if not isinstance(entries, list):
            return problem(400, "dncGroupRecords must list phoneNumber entries")
        results: list[dict[str, Any]] = []
        for entry in entries:
            number = _number(entry, self.config.dnc_phone_field)
            if number is None:
                results.append({"phoneNumber": None, "success": False,
                                "errorMessage": "the record has no phoneNumber"})
                continue
            group.records.append({"phoneNumber": number,
                                  "expiredDate": entry.get("expiredDate")})
            results.append({"phoneNumber": number, "success": True, "errorMessage": None})
        errors = sum(1 for result in results if not result["success"])
        return web.json_response({"resultSet": {"errorCount": errors,
                                                "recordResults": results}})


def _number(entry: object, field_name: str) -> str | None:
    """The number of one posted DNC entry (the spec types it a number), or None."""
    if not isinstance(entry, dict):
        return None
    value = entry.get("phoneNumber", entry.get(field_name))
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        return None
    return str(value).strip()
