"""Run history (``exports/scheduler_history.json``) and scheduler counters
(``exports/scheduler_metrics.json``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .models import RunRecord
from .state import JsonFile


def _parse_time(value: str | None) -> datetime | None:
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
        self.file = JsonFile(path, [], lock_dir=lock_dir)
        self.max_records = max_records

    @staticmethod
    def _runs(data: Any) -> list[dict[str, Any]]:
        if isinstance(data, dict):
            return list(data.get("runs", []))
        return list(data) if isinstance(data, list) else []

    def _records(self) -> list[dict[str, Any]]:
        return self._runs(self.file.load())

    def append(self, record: RunRecord) -> None:
        with self.file.lock:
            data = self.file.load()
            records = self._runs(data)
            records.append(record.to_dict())
            records = records[-self.max_records:]
            self.file.save({**data, "runs": records} if isinstance(data, dict) else records)

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
                started = _parse_time(rec.get("started_at"))
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


_EMPTY_COUNTERS = {"runs": 0, "success": 0, "failed": 0, "partial": 0, "skipped": 0, "rows": 0,
                   "total_duration_sec": 0.0, "max_duration_sec": 0.0}


class SchedulerMetricsStore:
    """Counters per schedule and in total; ``last_success_at`` feeds the SQL parameter."""

    def __init__(self, path: Path, *, lock_dir: Path | None = None):
        self.file = JsonFile(path, {"total": dict(_EMPTY_COUNTERS), "schedules": {}},
                             lock_dir=lock_dir)

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
            per["last_status"] = rec.status
            per["last_run_at"] = rec.started_at
            per["last_duration_sec"] = rec.duration_sec
            if rec.status == "success":
                per["last_success_at"] = rec.started_at
            data["updated_at"] = rec.finished_at
            self.file.save(data)

    def last_success(self, schedule_id: str) -> datetime | None:
        per = self.data()["schedules"].get(schedule_id, {})
        return _parse_time(per.get("last_success_at"))
