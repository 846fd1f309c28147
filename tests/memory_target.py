"""An in-memory calling-list service speaking :class:`streamer.delivery.ListTarget`:
delivery's unit tests run against it in milliseconds, with scripted misbehaviour. (The
end-to-end tests keep using the HTTP sandbox, so the real wire stays tested.)"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from streamer.delivery import JobState, RecordsPage, Removal
from streamer.errors import RemoteError
from streamer.fields import ListMapping
from streamer.settings import UploadOptions


@dataclass
class MemoryTarget:
    """Lists keyed by id, records by external id. ``upload_errors`` are raised, one per
    upload call, before any upload is accepted; ``lose`` says how many times a job drops
    the record of an external id; a job completes after ``job_polls`` polls."""

    upload_errors: list[RemoteError] = field(default_factory=list)
    lose: dict[str, int] = field(default_factory=dict)
    job_polls: int = 0
    cancel_jobs: bool = False
    lists: dict[int, dict[str, dict[str, str]]] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    uploads: int = 0
    polls: int = 0
    _jobs: dict[int, tuple[int, list[dict[str, str]], int]] = field(default_factory=dict)

    async def find_list(self, name: str) -> int | None:
        return self.names.get(name)

    async def delete_list(self, list_id: int) -> None:
        del self.lists[list_id]

    async def create_list(self, name: str, *, mapping: ListMapping) -> int:
        list_id = self.names[name] = 1001 + len(self.lists)
        self.lists[list_id] = {}
        return list_id

    async def upload(self, list_id: int, file_name: str, payload: bytes,
                     options: UploadOptions) -> int:
        self.uploads += 1
        if self.upload_errors:
            raise self.upload_errors.pop(0)
        rows = list(csv.DictReader(io.StringIO(payload.decode("utf-8"))))
        job_id = 5001 + len(self._jobs)
        self._jobs[job_id] = (list_id, rows, 0)
        return job_id

    async def job(self, job_id: int) -> JobState:
        self.polls += 1
        list_id, rows, polled = self._jobs[job_id]
        if polled < self.job_polls:
            self._jobs[job_id] = (list_id, rows, polled + 1)
            return JobState(job_id, is_complete=False, is_cancelled=False)
        if not self.cancel_jobs and rows:
            for row in rows:
                external_id = row["ExternalId"]
                if self.lose.get(external_id, 0) > 0:
                    self.lose[external_id] -= 1
                else:
                    self.lists[list_id][external_id] = {"externalId": external_id,
                                                        "phoneNumber": row["PhoneNumber"]}
            self._jobs[job_id] = (list_id, [], polled)
        return JobState(job_id, is_complete=not self.cancel_jobs,
                        is_cancelled=self.cancel_jobs)

    async def records_page(self, list_id: int, skip: int) -> RecordsPage:
        ids = list(self.lists[list_id])[skip:skip + 100]
        return RecordsPage(len(ids), ids, total=len(self.lists[list_id]))

    async def list_name(self, list_id: int) -> str:
        return next(name for name, i in self.names.items() if i == list_id)

    async def lists_named(self, name: str) -> list[int]:
        return [self.names[name]] if name in self.names else []

    async def remove_prospects(self, list_name: str, external_ids: list[str]) -> list[Removal]:
        records = self.lists[self.names[list_name]]
        return [Removal(i, records.pop(i, None) is not None) for i in external_ids]
