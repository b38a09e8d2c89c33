"""The state backend: everything the instances sharing a state keep together.

One object per facade, :class:`StateBackend`, owns the stores of what lives in a home's state
files — the schedules, the watermarks of incremental schedules, the run history, the
scheduler counters, the plugins' documents (Kafka metrics and whatever plugins store), the
fire claims, the run leases and the scheduler processes' heartbeats. The run journal (runs in
progress on this machine) stays in the home.

:func:`open_backend` picks the implementation: the files backend (the default) keeps
today's files and formats in ``exports/`` and the locks in ``.locks/``, correct with several
processes on one home (every change is a read-modify-write under the file's lock; fires are
claimed with ``O_EXCL`` files).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .claims import FileClaims
from .errors import ConfigError
from .history import HistoryStore, SchedulerMetricsStore
from .home import Home
from .models import RunRecord
from .plugin.state import FileStateBackend
from .plugin.state import StateBackend as Documents
from .presence import FilePresence
from .state import JsonDocument, JsonFile

if TYPE_CHECKING:
    from .sql_state import SqlBackend


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


class Leases(Protocol):
    """Run leases: one instance at a time runs a schedule (``acquire`` returns the holder
    when another has it); the runs of a lost instance are recorded ``interrupted``."""

    def acquire(self, schedule_id: str, record: dict[str, Any]) -> str | None:
        """Take the lease for the run whose ``running`` record is ``record``."""

    def release(self, schedule_id: str, export_id: str) -> None:
        """Give the lease of run ``export_id`` back."""

    def sweep(self) -> list[RunRecord]:
        """Record the runs of expired leases as ``interrupted``; returns those records."""

    def start(self) -> None:
        """Keep this instance's leases alive and sweep expired ones (a background thread)."""

    def close(self) -> None:
        """Stop that thread."""


class NoLeases:
    """The files backend: the schedule's file lock (``.locks/run-<id>.lock``) is the lease —
    the operating system releases it when its process dies."""

    def acquire(self, schedule_id: str, record: dict[str, Any]) -> str | None:
        return None

    def release(self, schedule_id: str, export_id: str) -> None:
        """Nothing to release."""

    def sweep(self) -> list[RunRecord]:
        return []

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to stop."""


class Presence(Protocol):
    """The scheduler processes' heartbeats (see :mod:`pstt_core.presence`)."""

    def beat(self, row: dict[str, Any]) -> None:
        """Write this process's row (``heartbeat_ts`` now); forget long-gone processes."""

    def leave(self, process: str) -> None:
        """Mark the process stopped."""

    def processes(self) -> list[dict[str, Any]]:
        """Every process known, alive or not."""


# The core's documents, and their file in the home for the files backend.
CORE_DOCUMENTS = ("schedules", "watermarks")


class StateBackend(Protocol):
    """Where the state shared by every instance is kept (see the module docstring)."""

    @property
    def name(self) -> str:
        """``files`` or ``sql``."""

    @property
    def history(self) -> RunHistory: ...

    @property
    def counters(self) -> Counters: ...

    @property
    def documents(self) -> Documents: ...

    @property
    def claims(self) -> Claims: ...

    @property
    def leases(self) -> Leases: ...

    @property
    def presence(self) -> Presence: ...

    def document(self, name: str, default: Any, *,
                 validate: Callable[[Any, str], None] | None = None) -> JsonDocument:
        """The core document ``name`` (one of :data:`CORE_DOCUMENTS`)."""

    def describe(self) -> str:
        """Where it is, for people (a directory, a database URL without its password)."""

    def problem(self) -> str | None:
        """Why the backend cannot be used now (e.g. a database schema of another version):
        ``Pstt.start()`` refuses to start with it."""

    def close(self) -> None:
        """Release connections."""


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
        self.leases = NoLeases()
        self.presence = FilePresence(home.instances, home.locks)

    def document(self, name: str, default: Any, *,
                 validate: Callable[[Any, str], None] | None = None) -> JsonFile:
        """``exports/schedules.json`` or ``exports/watermarks.json``."""
        path = {"schedules": self.home.schedules, "watermarks": self.home.watermarks}[name]
        return JsonFile(path, default, lock_dir=self.home.locks, validate=validate)

    def describe(self) -> str:
        return str(self.home.exports)

    def problem(self) -> str | None:
        """Why the backend cannot be used now (the files backend always can)."""
        return None

    def close(self) -> None:
        """Nothing to release."""


def ignored_home_files(home: Home, backend: StateBackend) -> list[str]:
    """The home's schedules and watermarks files that hold something while the SQL backend's
    documents are empty: they are not used (``pstt state migrate`` copies them)."""
    if backend.name == "files":
        return []
    local = FilesBackend(home, max_records=10, instance=lambda: "")
    files = [local.document(name, None) for name in CORE_DOCUMENTS]
    return [file.location for name, file in zip(CORE_DOCUMENTS, files, strict=True)
            if holds_items(file.load()) and not holds_items(backend.document(name, None).load())]


def holds_items(document: Any) -> bool:
    return isinstance(document, dict) and any(document.get(k) for k in CORE_DOCUMENTS)


def url_password(url: str) -> str:
    """The password in a database URL (for the log redactor), or ``""``."""
    if not url:
        return ""
    import sqlalchemy as sa

    try:
        return str(sa.make_url(url).password or "")
    except Exception:  # not a URL: open_backend says so
        return ""


def open_backend(home: Home, *, url: str, max_records: int, instance: Callable[[], str],
                 lease_ttl: float = 30.0,
                 document_files: Mapping[str, str] | None = None,
                 validators: Mapping[str, Callable[[dict[str, Any], str], None]] | None = None
                 ) -> FilesBackend | SqlBackend:
    """The backend of ``home``: the SQL backend when ``url`` (``PSTT_STATE_URL``) is set,
    else the files backend. Opening connects to nothing (commands that only read the home's
    files work without the database)."""
    if not url:
        return FilesBackend(home, max_records=max_records, instance=instance,
                            document_files=document_files, validators=validators)
    try:
        from .sql_state import SqlBackend
    except ImportError as exc:  # pragma: no cover - alembic missing
        raise ConfigError(f"PSTT_STATE_URL needs the SQL state backend's packages "
                          f"(pip install 'pstt[sql-state]'): {exc}") from None
    try:
        return SqlBackend(url, instance=instance, validators=validators, lease_ttl=lease_ttl)
    except Exception as exc:  # a URL SQLAlchemy cannot use: name the setting, not the URL
        raise ConfigError(f"PSTT_STATE_URL is not a database URL SQLAlchemy can use: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
