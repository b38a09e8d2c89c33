"""Core data models (attrs). (De)serialisation lives in :mod:`pstt_core.converter`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal, get_args

import attrs

SCHEDULE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

RunStatus = Literal["success", "failed", "partial", "running", "skipped", "interrupted"]
# What a finished run can be: every status but "running" (history filters, counters).
FINISHED_STATUSES: tuple[str, ...] = tuple(s for s in get_args(RunStatus) if s != "running")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


@attrs.define
class Database:
    """One entry of ``connections.json`` → ``databases``."""

    name: str
    url: str | None = None
    display_name: str | None = None
    description: str | None = None
    driver: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    options: dict[str, Any] = attrs.field(factory=dict)
    # A SQLite file that does not exist is an error unless this says to create it.
    create_if_missing: bool = False
    # Sessions are read-only where the database can enforce it (see databases.read_only_session)
    read_only: bool = True


@attrs.define
class Trigger:
    """When a schedule fires: ``cron`` with ``expression`` or ``interval`` with a period."""

    type: Literal["cron", "interval"]
    expression: str | None = None
    seconds: int | None = None
    minutes: int | None = None
    hours: int | None = None
    days: int | None = None

    def interval_seconds(self) -> int:
        return (
            (self.seconds or 0)
            + 60 * (self.minutes or 0)
            + 3600 * (self.hours or 0)
            + 86400 * (self.days or 0)
        )

    def describe(self) -> str:
        if self.type == "cron":
            return f"cron {self.expression}"
        return f"every {self.interval_seconds()} s"


@attrs.define
class Incremental:
    """An incremental feed: each run delivers the rows after the schedule's watermark.

    ``column`` is the cursor (timestamp, date, integer, numeric or sortable text);
    ``tiebreaker`` an optional unique column making the cursor the pair; ``delay_sec``
    (timestamp cursors) leaves the rows stamped within the last ``delay_sec`` of the
    database's clock for the next run; ``start`` the first run's (inclusive) lower bound.
    See docs/INCREMENTAL.md.
    """

    column: str
    tiebreaker: str | None = None
    delay_sec: float | None = None
    # a JSON scalar: ISO time text, a number, or text (checked by the schedule validation)
    start: Any = None


@attrs.define
class Schedule:
    """A query, when to run it, and where to send the result (``sharing_mode`` + ``sink_options``)."""

    id: str
    name: str
    connection: str
    query: str
    trigger: Trigger
    sharing_mode: str
    sink_options: dict[str, Any] = attrs.field(factory=dict)
    description: str = ""
    timezone: str = "UTC"
    enabled: bool = True
    batch_size: int = 10_000
    timeout_sec: float | None = None
    # None: a late fire runs however late it is (APScheduler's misfire_grace_time=None)
    misfire_grace_sec: int | None = 300
    coalesce: bool = True
    # The fires missed while no instance was running: all recorded skipped ("none"), or the
    # latest one run at start-up ("latest"); see catchup.py.
    catchup: str = "none"
    incremental: Incremental | None = None

    # Result gates (gates.py): what an empty result does, and the row count it must have.
    on_empty: str = "send"
    min_rows: int | None = None
    max_rows: int | None = None
    # Alert when the last successful run is older than this (staleness.py); no default.
    max_staleness_sec: float | None = None
    created_at: str | None = None
    updated_at: str | None = None
    # Fields we do not know (written by a newer version or another tool) survive a round trip.
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class RunInfo:
    """Metadata of one run, available to the SQL (as bind parameters) and to sinks."""

    # What metadata() gives, in this order (Kafka's metadata_fields chooses among them).
    METADATA_FIELDS: ClassVar[tuple[str, ...]] = (
        "source_query", "source_connection", "export_timestamp", "export_id")

    export_id: str
    export_timestamp: datetime
    schedule: Schedule
    source_query: str
    source_connection: str
    last_success_at: datetime | None = None
    trigger: str = "manual"
    # An incremental schedule's watermark when the run was prepared (``None``: none yet; the
    # error when watermarks.json cannot be read), and a backfill's window (``Window``); set
    # by the runner, see pstt_core.incremental.
    watermark: Any = None
    window: Any = None
    # The fire time this run is for (scheduled runs only), as claimed by the instance.
    scheduled_at: datetime | None = None

    @classmethod
    def new(cls, schedule: Schedule, *, last_success_at: datetime | None = None,
            trigger: str = "manual", scheduled_at: datetime | None = None) -> RunInfo:
        return cls(
            export_id=str(uuid.uuid4()),
            export_timestamp=utcnow(),
            schedule=schedule,
            source_query=schedule.query,
            source_connection=schedule.connection,
            last_success_at=last_success_at,
            trigger=trigger,
            scheduled_at=scheduled_at.astimezone(timezone.utc) if scheduled_at else None,
        )

    def metadata(self, fields: Iterable[str] | None = None) -> dict[str, str]:
        """The metadata sinks may attach to what they deliver: all of
        :attr:`METADATA_FIELDS`, or the ``fields`` named (in that order)."""
        values = {
            "source_query": self.source_query,
            "source_connection": self.source_connection,
            "export_timestamp": self.export_timestamp.isoformat(),
            "export_id": self.export_id,
        }
        return values if fields is None else {name: values[name] for name in fields}


# An error text longer than this is cut (history, logs, API): a runaway message — a template
# rendered to megabytes, a driver dumping a whole statement — must not fill the disk.
MAX_ERROR_CHARS = 4096


def cap_error(text: str | None) -> str | None:
    """``text`` cut to ``MAX_ERROR_CHARS``, saying how much was cut."""
    if text is None or len(text) <= MAX_ERROR_CHARS:
        return text
    return f"{text[:MAX_ERROR_CHARS]}… [{len(text) - MAX_ERROR_CHARS} more characters cut]"


@attrs.define
class RunRecord:
    """One line of ``exports/scheduler_history.json``."""

    export_id: str
    schedule_id: str
    sharing_mode: str
    status: str
    started_at: str
    finished_at: str | None = None
    duration_sec: float | None = None
    rows: int = 0
    # capped when set, too (attrs converts on assignment)
    error: str | None = attrs.field(default=None, converter=cap_error)
    schedule_name: str | None = None
    trigger: str = "manual"
    # The fire time (UTC, ISO 8601) of a scheduled run; ``None`` for a manual one.
    scheduled_at: str | None = None
    # The instance that ran (or skipped) it: ``<host>/<name>`` (see ``pstt_core.instance``).
    instance: str | None = None
    # Sink-specific fields (kafka_topic, path, recipients …) are flattened into the record.
    extra: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in attrs.asdict(self, recurse=False).items() if k != "extra"}
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        names = {a.name for a in attrs.fields(cls)} - {"extra"}
        known = {k: data[k] for k in names if k in data}
        extra = {k: v for k, v in data.items() if k not in names}
        known.setdefault("export_id", "")
        known.setdefault("schedule_id", "")
        known.setdefault("sharing_mode", "")
        known.setdefault("status", "unknown")
        known.setdefault("started_at", "")
        if known.get("rows") is None:
            known["rows"] = 0
        return cls(**known, extra=extra)
