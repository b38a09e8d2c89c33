"""Fire claims: each scheduled fire ``(schedule_id, scheduled_at)`` runs in one process only.

Every instance that shares the state schedules the same jobs, so every instance sees every
fire. Before it runs (or records as skipped) a fire, an instance claims it; the claim is
atomic, the first claimant runs the fire and the others record nothing.

The files backend keeps one empty-ish file per claim in ``<home>/.locks/claims/``, created
with ``O_CREAT | O_EXCL`` (atomic on a local file system, POSIX and Windows alike). Claims
older than :data:`KEEP_SEC` are pruned: a fire that old is never fired again (APScheduler
computes fire times forward from when a job is added).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Claims are kept two days; pruning runs at most every PRUNE_EVERY_SEC in a process.
KEEP_SEC = 2 * 86400
PRUNE_EVERY_SEC = 600.0
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_STAMP = "%Y%m%dT%H%M%S.%fZ"


class PruneClock:
    """When a claim store prunes: at its first claim in a process, then at most every
    :data:`PRUNE_EVERY_SEC` (files and SQL backends alike)."""

    def __init__(self) -> None:
        self._last = 0.0
        self._guard = threading.Lock()

    def due(self) -> bool:
        with self._guard:
            now = time.monotonic()
            if self._last and now - self._last < PRUNE_EVERY_SEC:
                return False
            self._last = now
            return True


def fire_key(scheduled_at: datetime) -> str:
    """The fire time in UTC, microseconds included (the same in every instance)."""
    return scheduled_at.astimezone(timezone.utc).strftime(_STAMP)


class FileClaims:
    """Claims of one home's fires.

    :param directory: ``<home>/.locks/claims``.
    :param instance: this instance's id (called when a claim is written).
    """

    def __init__(self, directory: Path, instance: Callable[[], str]):
        self.directory = directory
        self.instance = instance
        self.prune_clock = PruneClock()

    def path(self, schedule_id: str, scheduled_at: datetime) -> Path:
        sid = schedule_id if _SAFE_ID.match(schedule_id) else \
            "h" + hashlib.sha256(schedule_id.encode("utf-8")).hexdigest()[:32]
        return self.directory / f"{sid}@{fire_key(scheduled_at)}"

    def claim(self, schedule_id: str, scheduled_at: datetime) -> bool:
        """``True`` if this process is the first to claim the fire (it runs it)."""
        path = self.path(schedule_id, scheduled_at)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:  # for a person looking; never read
            json.dump({"schedule_id": schedule_id, "instance": self.instance(),
                       "pid": os.getpid()}, fh)
        if self.prune_clock.due():
            self.prune()
        return True

    def holder(self, schedule_id: str, scheduled_at: datetime) -> str | None:
        """The instance that claimed the fire, if it is claimed."""
        try:
            data = json.loads(self.path(schedule_id, scheduled_at).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return str(data.get("instance")) if isinstance(data, dict) else None

    def prune(self, now: datetime | None = None) -> int:
        """Remove claims of fires older than :data:`KEEP_SEC`; returns how many."""
        limit = (now or datetime.now(timezone.utc)) - timedelta(seconds=KEEP_SEC)
        removed = 0
        for path in self.directory.glob("*@*"):
            try:
                at = datetime.strptime(path.name.rsplit("@", 1)[1], _STAMP)
            except ValueError:
                continue
            if at.replace(tzinfo=timezone.utc) < limit:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed
