"""What delivery needs of a calling-list service: the :class:`ListTarget` protocol.

The CXone client implements it over HTTP; the tests have one in memory. Nothing in
:mod:`streamer.delivery` knows which it talks to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from streamer.settings import UploadOptions


@dataclass(frozen=True, slots=True)
class JobState:
    """An upload job as the service reports it: completion flags only, no counts."""

    job_id: int
    is_complete: bool
    is_cancelled: bool

    @property
    def finished(self) -> bool:
        return self.is_complete or self.is_cancelled


class ListTarget(Protocol):
    """A calling-list service. Calls marked "one attempt" leave retrying to the caller
    (the uploader paces and counts them); the others retry by themselves."""

    async def find_list(self, name: str) -> int | None:
        """The id of the list named ``name``, or ``None``."""
        ...

    async def create_list(
        self,
        name: str,
        *,
        external_id_column: str,
        phone_column: str,
        phone_field: str = "PhoneNumber",
        first_name_column: str | None = None,
        last_name_column: str | None = None,
    ) -> int:
        """Create a list whose mapping names the upload file's headers; its id."""
        ...

    async def upload(
        self, list_id: int, file_name: str, payload: bytes, options: UploadOptions
    ) -> int:
        """Submit one upload file (one attempt); the job id."""
        ...

    async def job(self, job_id: int) -> JobState:
        """One upload job's state (one attempt)."""
        ...

    async def records_page(self, list_id: int, skip: int) -> tuple[int, list[dict[str, Any]]]:
        """One page of the list's records: (the list's total, the records)."""
        ...

    async def dnc_groups(self) -> list[dict[str, Any]]:
        """The tenant's DNC groups."""
        ...

    def dnc_records(self, group_id: int) -> AsyncIterator[dict[str, Any]]:
        """Every record of one DNC group."""
        ...
