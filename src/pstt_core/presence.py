"""Which scheduler processes are alive: each one's heartbeat in the state backend.

Every process whose scheduler runs (``pstt serve``) writes a row keyed ``<instance>#<pid>``
every third of ``PSTT_LEASE_TTL_SEC`` and marks it stopped when it stops. A row without a
heartbeat for the TTL is a lost process. The rows answer two questions:

- which instances are alive (``/api/health``, ``/``, ``pstt_instance_up``);
- since when no scheduler was running, when one starts: the fires between then and now are
  the missed ones (see :mod:`pstt_core.catchup`).

The files backend keeps the rows in ``exports/instances.json``; the SQL backend in
``pstt_instances``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .state import JsonFile

# Rows of processes gone this long are dropped (the newest row always stays: the live one).
FORGET_SEC = 7 * 86400
FIELDS = ("process", "instance", "pid", "started_at", "heartbeat_ts", "stopped_ts", "version")


def process_key(instance: str, pid: int | None = None) -> str:
    return f"{instance}#{os.getpid() if pid is None else pid}"


def last_seen(row: dict[str, Any]) -> float:
    """When the process was last known to be running."""
    return float(row.get("stopped_ts") or row["heartbeat_ts"])


def is_alive(row: dict[str, Any], ttl: float, now: float) -> bool:
    return row.get("stopped_ts") is None and now - float(row["heartbeat_ts"]) <= ttl


def instances_view(rows: Iterable[dict[str, Any]], ttl: float,
                   now: float | None = None) -> list[dict[str, Any]]:
    """One entry per instance: alive if one of its processes is, with the newest heartbeat."""
    now = time.time() if now is None else now
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = out.setdefault(row["instance"], {"instance": row["instance"], "alive": False,
                                                 "processes": 0, "last_heartbeat_ts": 0.0})
        if is_alive(row, ttl, now):
            entry["alive"] = True
            entry["processes"] += 1
        entry["last_heartbeat_ts"] = max(entry["last_heartbeat_ts"], float(row["heartbeat_ts"]))
    for entry in out.values():
        entry["last_heartbeat"] = datetime.fromtimestamp(
            entry.pop("last_heartbeat_ts"), timezone.utc).isoformat(timespec="seconds")
    return sorted(out.values(), key=lambda e: (not e["alive"], e["instance"]))


class FilePresence:
    """The heartbeats in ``exports/instances.json``, changed under the file's lock."""

    def __init__(self, path: Path, lock_dir: Path):
        self.file = JsonFile(path, {"processes": {}}, lock_dir=lock_dir)

    def beat(self, row: dict[str, Any]) -> None:
        """Write ``row`` (this process, ``heartbeat_ts`` now) and forget long-gone ones."""
        with self.file.lock:
            rows = self._rows()
            rows[row["process"]] = {k: row.get(k) for k in FIELDS}
            limit = time.time() - FORGET_SEC
            self.file.save({"processes": {k: r for k, r in rows.items()
                                          if last_seen(r) >= limit}})

    def leave(self, process: str) -> None:
        with self.file.lock:
            rows = self._rows()
            if process in rows:
                rows[process]["stopped_ts"] = time.time()
                self.file.save({"processes": rows})

    def processes(self) -> list[dict[str, Any]]:
        return list(self._rows().values())

    def _rows(self) -> dict[str, dict[str, Any]]:
        data = self.file.load()
        rows = data.get("processes") if isinstance(data, dict) else None
        if not isinstance(rows, dict):
            return {}
        return {k: dict(r) for k, r in rows.items()
                if isinstance(r, dict) and isinstance(r.get("heartbeat_ts"), int | float)
                and isinstance(r.get("instance"), str)}
