"""What delivery needs of a calling-list service: the :class:`ListTarget` protocol.

The CXone client implements it over HTTP; the tests have one in memory. Nothing in
:mod:`streamer.delivery` knows which it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from streamer.fields import ListMapping
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


@dataclass(frozen=True, slots=True)
class RecordsPage:
    """One page of a list read back, as the service answered it, already parsed.

    ``size`` counts the page's records; ``external_ids`` holds those that carry one.
    The rest is what the service says of the list as a whole (``None``: not said):
    its total is a hint for progress, never a bound (a page past the end is empty).
    """

    size: int
    external_ids: list[str] = field(default_factory=list)
    total: int | None = None
    status: str | None = None
    valid_records: int | None = None
    invalid_records: int | None = None


@dataclass(frozen=True, slots=True)
class Removal:
    """What the service said of one external id it was asked to remove.

    ``removed``: ``True`` in its successful records, ``False`` in its failed ones, ``None``
    when its answer did not name the id (only reading the list can tell). ``result`` is
    its word on the record (a result code, and a message when it gave one).
    """

    external_id: str
    removed: bool | None
    result: str = ""


class ListTarget(Protocol):
    """A calling-list service. Calls marked "one attempt" leave retrying to the caller
    (the uploader paces and counts them); the others retry by themselves."""

    async def find_list(self, name: str) -> int | None:
        """The id of the active list named ``name`` (the oldest, when several are), or
        ``None``. Inactive lists are never found."""
        ...

    async def create_list(self, name: str, *, mapping: ListMapping) -> int:
        """Create a list whose mapping names the upload file's headers (each field with
        the header holding it, ExternalId first); its id."""
        ...

    async def delete_list(self, list_id: int) -> None:
        """Remove a list (one this run created and lost a race with)."""
        ...

    async def list_name(self, list_id: int) -> str:
        """The name of the list with id ``list_id``."""
        ...

    async def lists_named(self, name: str) -> list[int]:
        """The ids of every list named ``name``, whatever its status."""
        ...

    async def upload(
        self, list_id: int, file_name: str, payload: bytes, options: UploadOptions
    ) -> int:
        """Submit one upload file (one attempt); the job id.

        Raises :class:`~streamer.errors.UnreadableAnswer` when the service said yes in a
        way that cannot be read: the rows may be in the list, and only read-back can tell.
        """
        ...

    async def job(self, job_id: int) -> JobState:
        """One upload job's state (one attempt)."""
        ...

    async def records_page(self, list_id: int, skip: int) -> RecordsPage:
        """One page of the list's records (one attempt); empty past the end."""
        ...

    async def remove_prospects(self, list_name: str, external_ids: list[str]) -> list[Removal]:
        """Remove the records with these external ids from the list named ``list_name``
        (one attempt): one :class:`Removal` per id, in the order given."""
        ...
