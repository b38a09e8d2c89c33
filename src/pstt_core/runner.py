"""Runs schedules: one at a time per schedule, recorded in history and metrics, observed."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from .errors import ConflictError
from .logs import logging_to
from .models import RunInfo, RunRecord, iso, utcnow
from .pipeline import Progress, execute
from .state import try_lock_file

if TYPE_CHECKING:
    from .facade import Pstt

log = logging.getLogger("pstt.runner")

SKIP_BUSY = "previous run still in progress"


class Runner:
    def __init__(self, pstt: Pstt):
        self.pstt = pstt
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._fds: dict[str, int | None] = {}
        self.running: dict[str, RunInfo] = {}

    def _lock(self, schedule_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(schedule_id, threading.Lock())

    def is_running(self, schedule_id: str) -> bool:
        return schedule_id in self.running

    def prepare(self, schedule_id: str, trigger: str = "manual") -> RunInfo:
        schedule = self.pstt.schedules.get(schedule_id)
        last = self.pstt.scheduler_metrics.last_success(schedule_id)
        return RunInfo.new(schedule, last_success_at=last, trigger=trigger)

    def _claim(self, sid: str) -> str | None:
        """Take the schedule's run lock; ``None`` on success, else why it is busy.

        The thread lock covers this process; an ``flock`` on ``<home>/.locks/run-<id>.lock``
        covers others (``pstt serve`` and a ``pstt run`` from cron on the same home).
        """
        lock = self._lock(sid)
        if not lock.acquire(blocking=False):
            return "is already running"
        taken, fd = try_lock_file(self.pstt.home.locks / f"run-{sid}.lock")
        if not taken:
            lock.release()
            return "is already running (in another process)"
        self._fds[sid] = fd
        return None

    def _release(self, sid: str) -> None:
        fd = self._fds.pop(sid, None)
        if fd is not None:
            os.close(fd)  # releases the flock
        self._lock(sid).release()

    def reserve(self, run: RunInfo) -> None:
        """Claim the schedule for ``run`` now (``ConflictError`` if busy); the claim is
        released by ``run(..., reserved=True)``. Lets a background run refuse a second one
        before its thread starts."""
        busy = self._claim(run.schedule.id)
        if busy:
            raise ConflictError(f"schedule {run.schedule.id!r} {busy}")
        self.running[run.schedule.id] = run

    def run(self, run: RunInfo, *, progress: Progress | None = None,
            skip_if_running: bool = False, reserved: bool = False) -> RunRecord:
        """Execute ``run``; a second run of a schedule already running is refused
        (``ConflictError``) or, for scheduled fires, recorded as ``skipped``."""
        with logging_to(self.pstt.home.logs):
            return self._run(run, progress, skip_if_running, reserved)

    def _run(self, run: RunInfo, progress: Progress | None, skip_if_running: bool,
             reserved: bool) -> RunRecord:
        sid = run.schedule.id
        busy = None if reserved else self._claim(sid)
        if busy:
            if not skip_if_running:
                raise ConflictError(f"schedule {sid!r} {busy}")
            return self.skip(run, SKIP_BUSY)
        try:
            self.running[sid] = run
            log.info("run %s of schedule %s started (%s)", run.export_id, sid, run.trigger)
            record = execute(self.pstt, run, progress=progress)
            # recorded before the run leaves ``running``: a client polling
            # GET /api/runs/{export_id} must always find it in one place or the other
            self._record(record)
        finally:
            self.running.pop(sid, None)
            self._release(sid)
        self.pstt.observe_run(record, run)
        log.info("run %s of schedule %s finished: %s, %d rows in %.3f s%s", record.export_id, sid,
                 record.status, record.rows, record.duration_sec or 0,
                 f" — {record.error}" if record.error else "")
        return record

    def skip(self, run: RunInfo, reason: str) -> RunRecord:
        """Record ``run`` as ``skipped`` (it never started) with ``reason`` as its error."""
        with logging_to(self.pstt.home.logs):
            record = RunRecord(export_id=run.export_id, schedule_id=run.schedule.id,
                               sharing_mode=run.schedule.sharing_mode, status="skipped",
                               started_at=iso(run.export_timestamp) or "",
                               finished_at=iso(utcnow()), duration_sec=0.0, error=reason,
                               schedule_name=run.schedule.name, trigger=run.trigger)
            log.warning("run %s of schedule %s skipped: %s", run.export_id, run.schedule.id, reason)
            self._finish(record, run)
            return record

    def _finish(self, record: RunRecord, run: RunInfo) -> None:
        self._record(record)
        self.pstt.observe_run(record, run)

    def _record(self, record: RunRecord) -> None:
        try:
            self.pstt.history.append(record)
            self.pstt.scheduler_metrics.record(record)
        except Exception:  # a full disk must not kill the scheduler thread
            log.exception("could not write history for run %s", record.export_id)
