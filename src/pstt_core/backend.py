"""The state backend: everything the instances sharing a state keep together.

One object per facade, :class:`StateBackend`, owns the stores of what lives in a home's state
files today — the run history, the scheduler counters, the plugins' documents (Kafka metrics
and whatever plugins store) and the fire claims. The run journal (runs in progress on this
machine) and ``schedules.json`` stay in the home.

:func:`open_backend` picks the implementation: the files backend (the default) keeps
today's files and formats in ``exports/`` and the locks in ``.locks/``, correct with several
processes on one home (every change is a read-modify-write under the file's lock; fires are
claimed with ``O_EXCL`` files).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from .claims import FileClaims
from .history import HistoryStore, SchedulerMetricsStore
from .home import Home
from .models import RunRecord
from .plugin.state import FileStateBackend
from .plugin.state import StateBackend as Documents


class RunHistory(Protocol):
    """Run records, newest first in queries; one per ``export_id``."""

    @property
    def location(self) -> str:
        """Where the records are, for messages."""

    def check(self) -> None:
        """Raise the store's :class:`~pstt_core.StateFileError` if it cannot be read."""

    def put(self, record: RunRecord) -> bool:
        """Add ``record``, or replace the one with its ``export_id``; ``True`` if added."""

    def get(self, export_id: str) -> dict[str, Any] | None:
        """The record of run ``export_id``."""

    def query(self, *, schedule_id: str | None = None, status: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              sharing_mode: str | None = None, sharing_modes: Collection[str] | None = None,
              limit: int | None = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """Filtered records, newest first, with the count before paging."""

    def last(self, schedule_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """The newest record of each schedule."""


class Counters(Protocol):
    """Run counters in total and per schedule, and each schedule's last success."""

    @property
    def location(self) -> str:
        """Where the counters are, for messages."""

    def data(self) -> dict[str, Any]:
        """``{"total": {...}, "schedules": {id: {...}}, "updated_at"}``."""

    def record(self, rec: RunRecord) -> None:
        """Count ``rec`` (once it is in the history)."""

    def last_success(self, schedule_id: str) -> datetime | None:
        """When the schedule last succeeded (the ``:last_success_at`` parameter)."""


class Claims(Protocol):
    """Fire claims: the first instance to claim ``(schedule_id, scheduled_at)`` runs it."""

    def claim(self, schedule_id: str, scheduled_at: datetime) -> bool:
        """``True`` if this instance is the first to claim the fire."""

    def holder(self, schedule_id: str, scheduled_at: datetime) -> str | None:
        """The instance that claimed the fire, if it is claimed."""


class StateBackend(Protocol):
    """Where the state shared by every instance is kept (see the module docstring)."""

    name: str
    history: RunHistory
    counters: Counters
    documents: Documents
    claims: Claims

    def describe(self) -> str:
        """Where it is, for people (a directory, a database URL without its password)."""


class FilesBackend:
    """Today's state files in the home (see ``docs/ARCHITECTURE.md``, *State files*).

    :param document_files: the file name of each plugin's document (``register_state_file``).
    :param validators: the plugins' document validators.
    :param instance: this instance's id, written in claims.
    """

    name = "files"

    def __init__(self, home: Home, *, max_records: int, instance: Callable[[], str],
                 document_files: Mapping[str, str] | None = None,
                 validators: Mapping[str, Callable[[dict[str, Any], str], None]] | None = None):
        self.home = home
        self.history = HistoryStore(home.history, max_records, lock_dir=home.locks)
        self.counters = SchedulerMetricsStore(home.scheduler_metrics, lock_dir=home.locks)
        self.documents = FileStateBackend(home.exports, home.locks, document_files,
                                          validators=validators)
        self.claims = FileClaims(home.claims, instance)

    def describe(self) -> str:
        return str(self.home.exports)


def open_backend(home: Home, *, max_records: int, instance: Callable[[], str],
                 document_files: Mapping[str, str] | None = None,
                 validators: Mapping[str, Callable[[dict[str, Any], str], None]] | None = None
                 ) -> FilesBackend:
    """The backend of ``home``: the files backend."""
    return FilesBackend(home, max_records=max_records, instance=instance,
                        document_files=document_files, validators=validators)
