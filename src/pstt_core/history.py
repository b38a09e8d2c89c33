"""Run history (``exports/scheduler_history.json``) and scheduler counters
(``exports/scheduler_metrics.json``)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import StateFileError
from .models import RunRecord
from .state import JsonFile, check_fields, json_kind

_NUMBER = (int, float)
# The fields of a history record that PSTT reads, with the JSON types they may have.
RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "export_id": (str,), "schedule_id": (str,), "sharing_mode": (str,), "status": (str,),
    "started_at": (str,), "finished_at": (str,), "duration_sec": _NUMBER, "rows": (int,),
    "error": (str,), "schedule_name": (str,), "trigger": (str,),
}
COUNTER_FIELDS: dict[str, tuple[type, ...]] = {
    "runs": (int,), "success": (int,), "failed": (int,), "partial": (int,), "skipped": (int,),
    "interrupted": (int,), "rows": (int,), "total_duration_sec": _NUMBER,
    "max_duration_sec": _NUMBER, "last_status": (str,), "last_run_at": (str,),
    "last_success_at": (str,), "last_duration_sec": _NUMBER,
}


def validate_history(data: Any, file: str) -> None:
    """A JSON array of run records, or an object whose ``runs`` is one."""
    runs, path = data, "$"
    if isinstance(data, dict):
        runs, path = data.get("runs", []), "$.runs"
    elif not isinstance(data, list):
        raise StateFileError(f"must be an array of run records (or an object with \"runs\"), "
                             f"not {json_kind(data)}", file=file, path="$")
    if not isinstance(runs, list):
        raise StateFileError(f"must be an array of run records, not {json_kind(runs)}",
                             file=file, path=path)
    for i, item in enumerate(runs):
        if not isinstance(item, dict):
            raise StateFileError(f"a run record must be an object, not {json_kind(item)}",
                                 file=file, path=f"{path}[{i}]")
        check_fields(item, RECORD_FIELDS, file=file, path=f"{path}[{i}]")


def validate_metrics(data: Any, file: str) -> None:
    """``{"total": {counters}, "schedules": {id: {counters}}, "updated_at"}``."""
    if not isinstance(data, dict):
        raise StateFileError(f"must be an object, not {json_kind(data)}", file=file, path="$")
    total = data.get("total", {})
    if not isinstance(total, dict):
        raise StateFileError(f"must be an object, not {json_kind(total)}", file=file,
                             path="$.total")
    check_fields(total, COUNTER_FIELDS, file=file, path="$.total")
    per = data.get("schedules", {})
    if not isinstance(per, dict):
        raise StateFileError(f"must be an object (schedule id → counters), not {json_kind(per)}",
                             file=file, path="$.schedules")
    for sid, counters in per.items():
        path = f"$.schedules[{json.dumps(sid)}]"
        if not isinstance(counters, dict):
            raise StateFileError(f"must be an object, not {json_kind(counters)}", file=file,
                                 path=path)
        check_fields(counters, COUNTER_FIELDS, file=file, path=path)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    # records written without an offset are UTC; comparing naive with aware would raise
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class HistoryStore:
    """Newest records last on disk; the shape of an existing file (array or {"runs": []})
    is kept so tools that read it keep working."""

    def __init__(self, path: Path, max_records: int = 10_000, *, lock_dir: Path | None = None):
        self.file = JsonFile(path, [], lock_dir=lock_dir, validate=validate_history)
        self.max_records = max_records

    @property
    def location(self) -> str:
        return str(self.file.path)

    @staticmethod
    def _runs(data: Any) -> list[dict[str, Any]]:
        if isinstance(data, dict):
            return list(data.get("runs", []))
        return list(data)

    def _records(self) -> list[dict[str, Any]]:
        return self._runs(self.file.load())

    def check(self) -> None:
        """Raise the file's :class:`StateFileError` if it cannot be understood."""
        self.file.load()

    def append(self, record: RunRecord) -> None:
        self.put(record)

    def put(self, record: RunRecord) -> bool:
        """Add ``record``, or replace the one with its ``export_id``; ``True`` if added."""
        with self.file.lock:
            data = self.file.load()
            records = self._runs(data)
            found = next((i for i in range(len(records) - 1, -1, -1)
                          if records[i].get("export_id") == record.export_id), None)
            if found is None:
                records.append(record.to_dict())
            else:
                records[found] = record.to_dict()
            records = records[-self.max_records:]
            self.file.save({**data, "runs": records} if isinstance(data, dict) else records)
            return found is None

    def get(self, export_id: str) -> dict[str, Any] | None:
        for rec in reversed(self._records()):
            if rec.get("export_id") == export_id:
                return rec
        return None

    def query(self, *, schedule_id: str | None = None, status: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              sharing_mode: str | None = None, sharing_modes: Collection[str] | None = None,
              limit: int | None = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """Filtered records, newest first (``limit=None``: all), with the total count before
        paging. ``sharing_modes`` keeps the records of those modes only."""
        out = []
        for rec in reversed(self._records()):
            if schedule_id and rec.get("schedule_id") != schedule_id:
                continue
            if status and rec.get("status") != status:
                continue
            if sharing_mode and rec.get("sharing_mode") != sharing_mode:
                continue
            if sharing_modes is not None and rec.get("sharing_mode") not in sharing_modes:
                continue
            if since or until:
                started = parse_time(rec.get("started_at"))
                if started is None:
                    continue
                if since and started < since:
                    continue
                if until and started > until:
                    continue
            out.append(rec)
        return len(out), out[offset:] if limit is None else out[offset:offset + limit]

    def last(self, schedule_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        wanted = set(schedule_ids) if schedule_ids is not None else None
        last: dict[str, dict[str, Any]] = {}
        for rec in self._records():
            sid = rec.get("schedule_id", "")
            if wanted is None or sid in wanted:
                last[sid] = rec
        return last


def _not_before(when: str | None, than: str | None) -> bool:
    """``when`` is at or after ``than`` (a missing or unreadable ``than`` is earlier)."""
    a, b = parse_time(when), parse_time(than)
    return b is None or (a is not None and a >= b)


_EMPTY_COUNTERS = {"runs": 0, "success": 0, "failed": 0, "partial": 0, "skipped": 0,
                   "interrupted": 0, "rows": 0, "total_duration_sec": 0.0, "max_duration_sec": 0.0}


class SchedulerMetricsStore:
    """Counters per schedule and in total; ``last_success_at`` feeds the SQL parameter."""

    def __init__(self, path: Path, *, lock_dir: Path | None = None):
        self.file = JsonFile(path, {"total": dict(_EMPTY_COUNTERS), "schedules": {}},
                             lock_dir=lock_dir, validate=validate_metrics)

    @property
    def location(self) -> str:
        return str(self.file.path)

    def data(self) -> dict[str, Any]:
        data = self.file.load()
        data.setdefault("total", dict(_EMPTY_COUNTERS))
        data.setdefault("schedules", {})
        return data

    def record(self, rec: RunRecord) -> None:
        with self.file.lock:
            data = self.data()
            per = data["schedules"].setdefault(rec.schedule_id, dict(_EMPTY_COUNTERS))
            for bucket in (data["total"], per):
                for key, value in _EMPTY_COUNTERS.items():
                    bucket.setdefault(key, value)
                bucket["runs"] += 1
                bucket[rec.status] = bucket.get(rec.status, 0) + 1
                bucket["rows"] += rec.rows or 0
                duration = rec.duration_sec or 0.0
                bucket["total_duration_sec"] = round(bucket["total_duration_sec"] + duration, 3)
                bucket["max_duration_sec"] = max(bucket["max_duration_sec"], duration)
            # A record merged late from the run journal may be older than the last run
            # counted: it adds to the totals but never moves the "last" fields back.
            if _not_before(rec.started_at, per.get("last_run_at")):
                per["last_status"] = rec.status
                per["last_run_at"] = rec.started_at
                per["last_duration_sec"] = rec.duration_sec
            if rec.status == "success" and _not_before(rec.started_at,
                                                       per.get("last_success_at")):
                per["last_success_at"] = rec.started_at
            data["updated_at"] = rec.finished_at
            self.file.save(data)

    def last_success(self, schedule_id: str) -> datetime | None:
        per = self.data()["schedules"].get(schedule_id, {})
        return parse_time(per.get("last_success_at"))
