"""The sandbox's DNC groups: read-only to streamer, filled from files or by tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from streamer.cxone._sandbox_config import SandboxConfig, paging, problem


@dataclass(slots=True)
class _DncGroup:
    group_id: int
    name: str
    records: list[dict[str, str | None]] = field(default_factory=list)


class DncGroups:
    """The groups a sandbox serves, loaded from ``config.dnc_groups``' files."""

    def __init__(self, config: SandboxConfig) -> None:
        self._groups: dict[int, _DncGroup] = {}
        for name, path in config.dnc_groups:
            group_id = self.add(name)
            for line in path.read_text(encoding="utf-8").splitlines():
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
            raise web.HTTPNotFound(text='{"error": "no such DNC group"}',
                                   content_type="application/json")
        return group

    async def get_groups(self, request: web.Request) -> web.Response:
        groups = [{"dncGroupId": g.group_id, "dncGroupName": g.name,
                   "dncGroupDescription": "", "recordCount": len(g.records), "isActive": True}
                  for g in self._groups.values()]
        return web.json_response({"resultSet": {"totalGroups": len(groups),
                                                "dncGroups": groups}})

    async def get_records(self, request: web.Request) -> web.Response:
        group = self._group(request)
        skip, top = paging(request)
        return web.json_response({"resultSet": {
            "totalRecords": len(group.records),
            "dncRecords": group.records[skip : skip + top],
        }})

    async def add_records(self, request: web.Request) -> web.Response:
        group = self._group(request)
        try:
            entries = (await request.json())["dncGroupRecords"]
            added = [{"phoneNumber": str(e["phoneNumber"]), "expiredDate": e.get("expiredDate")}
                     for e in entries]
        except (ValueError, KeyError, TypeError):
            return problem(400, "dncGroupRecords must list phoneNumber entries")
        group.records.extend(added)
        return web.json_response({
            "successfulRecords": [{"phoneNumber": a["phoneNumber"], "resultCode": "Success"}
                                  for a in added],
            "failedRecords": [],
        })
