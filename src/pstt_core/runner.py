"""Runs schedules: one at a time per schedule, recorded in history and metrics, observed."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from .control import INTERRUPT, RunControl
from .errors import ConfigError, ConflictError, RecordNotWrittenError, StateFileError
from .incremental import Window
from .journal import BACKFILL
from .logs import logging_to
from .models import RunInfo, RunRecord, iso, utcnow
from .pipeline import Progress, execute, run_timeout
from .state import try_lock_file, unlock_file

if TYPE_CHECKING:
    from .facade import Pstt

log = logging.getLogger("pstt.runner")

SKIP_BUSY = "previous run still in progress"
# A failed run is worth a look; an interrupted one needs one (something stopped PSTT).
LOG_LEVELS = {"success": logging.INFO, "skipped": logging.INFO, "partial": logging.WARNING,
              "failed": logging.WARNING, "interrupted": logging.ERROR}


class Runner:
    def __init__(self, pstt: Pstt):
        self.pstt = pstt
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._fds: dict[str, int | None] = {}
        self._leased: dict[str, str] = {}  # schedule id → export id of the lease held
        self.running: dict[str, RunInfo] = {}
        self.controls: dict[str, RunControl] = {}
        # set by interrupt(): why no new run may start
        self.stopping: str | None = None

    def _lock(self, schedule_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(schedule_id, threading.Lock())

    def is_running(self, schedule_id: str) -> bool:
        return schedule_id in self.running

    def prepare(self, schedule_id: str, trigger: str = "manual",
                scheduled_at: datetime | None = None, *,
                window: Window | None = None) -> RunInfo:
        """The run of a schedule now; ``window``: a backfill (``ConfigError`` for a schedule
        that is not incremental)."""
        schedule = self.pstt.schedules.get(schedule_id)
        last = self.pstt.scheduler_metrics.last_success(schedule_id)
        if window is not None:
            if schedule.incremental is None:
                raise ConfigError(f"schedule {schedule_id!r} is not incremental: a backfill "
                                  "needs its \"incremental\" cursor", path="$.from")
            trigger = BACKFILL
        run = RunInfo.new(schedule, last_success_at=last, trigger=trigger,
                          scheduled_at=scheduled_at)
        if schedule.incremental is not None:
            # the mark the run starts from, which its commit expects to find unchanged; a
            # damaged watermarks.json fails the run (recorded), it does not stop the fire
            try:
                run.watermark = self.pstt.watermarks.get(schedule_id)
            except StateFileError as exc:
                run.watermark = exc
            run.window = window
        return run

    def _claim(self, run: RunInfo) -> str | None:
        """Take the schedule's run lock; ``None`` on success, else why it is busy.

        The thread lock covers this process; a file lock on ``<home>/.locks/run-<id>.lock``
        covers others (``pstt serve`` and a ``pstt run`` from cron on the same home).
        """
        sid = run.schedule.id
        lock = self._lock(sid)
        if not lock.acquire(blocking=False):
            return "is already running"
        taken, fd = try_lock_file(self.pstt.home.locks / f"run-{sid}.lock")
        if not taken:
            lock.release()
            return "is already running (in another process)"
        try:
            holder = self.pstt.backend.leases.acquire(sid, self._lease_record(run))
        except Exception:
            if fd is not None:
                unlock_file(fd)
            lock.release()
            raise
        if holder is not None:
            if fd is not None:
                unlock_file(fd)
            lock.release()
            return f"is already running (on instance {holder})"
        self._fds[sid] = fd
        self._leased[sid] = run.export_id
        return None

    def _lease_record(self, run: RunInfo) -> dict[str, object]:
        """What the lease keeps of the run: its record as the journal's ``running`` one."""
        return RunRecord(export_id=run.export_id, schedule_id=run.schedule.id,
                         sharing_mode=run.schedule.sharing_mode, status="running",
                         started_at=iso(run.export_timestamp) or "",
                         schedule_name=run.schedule.name, trigger=run.trigger,
                         scheduled_at=iso(run.scheduled_at),
                         instance=self.pstt.instance).to_dict()

    def _release(self, sid: str) -> None:
        export_id = self._leased.pop(sid, None)
        if export_id is not None:
            try:
                self.pstt.backend.leases.release(sid, export_id)
            except Exception as exc:  # it expires by itself; the record is already written
                log.warning("could not release the lease of schedule %s: %s", sid, exc)
        fd = self._fds.pop(sid, None)
        if fd is not None:
            unlock_file(fd)
        self._lock(sid).release()

    def reserve(self, run: RunInfo) -> None:
        """Claim the schedule for ``run`` now (``ConflictError`` if busy); the claim is
        released by ``run(..., reserved=True)``. Lets a background run refuse a second one
        before its thread starts."""
        busy = self._claim(run)
        if busy:
            raise ConflictError(f"schedule {run.schedule.id!r} {busy}")
        self.running[run.schedule.id] = run

    def run(self, run: RunInfo, *, progress: Progress | None = None,
            skip_if_running: bool = False, reserved: bool = False) -> RunRecord:
        """Execute ``run``; a second run of a schedule already running is refused
        (``ConflictError``) or, for scheduled fires, recorded as ``skipped``.

        Raises :class:`~pstt_core.errors.RecordNotWrittenError` (with the record) when the
        run's record could not be written to the history."""
        with logging_to(self.pstt.home.logs):
            return self._run(run, progress, skip_if_running, reserved)

    def _run(self, run: RunInfo, progress: Progress | None, skip_if_running: bool,
             reserved: bool) -> RunRecord:
        sid = run.schedule.id
        if self.stopping and not reserved:
            if not skip_if_running:
                raise ConflictError(f"schedule {sid!r} not started: {self.stopping}")
            return self.skip(run, f"not started: {self.stopping}")
        busy = None if reserved else self._claim(run)
        if busy:
            if not skip_if_running:
                raise ConflictError(f"schedule {sid!r} {busy}")
            return self.skip(run, SKIP_BUSY)
        # The run starts now, holding its schedule: its start is stamped here, not when it was
        # prepared, so two runs of a schedule never seem to overlap in the history (another
        # instance's run may have ended between this run's preparation and its claim).
        run.export_timestamp = utcnow()
        unrecorded: RecordNotWrittenError | None = None
        control = RunControl(run_timeout(self.pstt, run))
        try:
            self.running[sid] = run
            self.controls[run.export_id] = control
            if self.stopping:
                control.stop(INTERRUPT, self.stopping)
            record = self._execute(run, progress, control)
            # recorded before the run leaves ``running``, and before its lock is released
            # (a lock nobody holds marks a journal entry as orphaned)
            try:
                self.pstt.journal.complete(record)
            except RecordNotWrittenError as exc:
                unrecorded = exc
        finally:
            self.running.pop(sid, None)
            self.controls.pop(run.export_id, None)
            self._release(sid)
        if unrecorded is None:  # otherwise observed when the journal adds it to the history
            self.pstt.observe_run(record, run.schedule)
        log.log(LOG_LEVELS.get(record.status, logging.INFO),
                "run %s of schedule %s finished: %s, %d rows in %.3f s%s", record.export_id, sid,
                record.status, record.rows, record.duration_sec or 0,
                f" — {record.error}" if record.error else "")
        if unrecorded is not None:
            log.error("%s", unrecorded)
            raise unrecorded
        return record

    def _execute(self, run: RunInfo, progress: Progress | None,
                 control: RunControl) -> RunRecord:
        """The journal's ``running`` record first; no journal, no delivery."""
        try:
            entry = self.pstt.journal.begin(run)
        except Exception as exc:
            log.error("run %s of schedule %s not started: %s", run.export_id, run.schedule.id,
                      exc)
            return self._refused(run, f"not started: the run journal could not be written: "
                                      f"{exc}")
        log.info("run %s of schedule %s started (%s)", run.export_id, run.schedule.id,
                 run.trigger)
        record = execute(self.pstt, run, progress=progress, control=control,
                         checkpoint=entry.checkpoint)
        record.extra.update(self.pstt.journal.origin())
        return record

    def _refused(self, run: RunInfo, error: str) -> RunRecord:
        now = iso(utcnow())
        return RunRecord(export_id=run.export_id, schedule_id=run.schedule.id,
                         sharing_mode=run.schedule.sharing_mode, status="failed",
                         started_at=iso(run.export_timestamp) or "", finished_at=now,
                         duration_sec=0.0, error=error, schedule_name=run.schedule.name,
                         trigger=run.trigger, scheduled_at=iso(run.scheduled_at),
                         extra=self.pstt.journal.origin())

    def interrupt(self, reason: str) -> None:
        """Stop every run in progress (between batches; their sinks settle) and refuse
        new ones: the process is going away (SIGTERM, Ctrl-C)."""
        self.stopping = reason
        for control in list(self.controls.values()):
            control.stop(INTERRUPT, reason)

    def skip(self, run: RunInfo, reason: str) -> RunRecord:
        """Record ``run`` as ``skipped`` (it never started) with ``reason`` as its error."""
        with logging_to(self.pstt.home.logs):
            record = RunRecord(export_id=run.export_id, schedule_id=run.schedule.id,
                               sharing_mode=run.schedule.sharing_mode, status="skipped",
                               started_at=iso(run.export_timestamp) or "",
                               finished_at=iso(utcnow()), duration_sec=0.0, error=reason,
                               schedule_name=run.schedule.name, trigger=run.trigger,
                               scheduled_at=iso(run.scheduled_at))
            log.warning("run %s of schedule %s skipped: %s", run.export_id, run.schedule.id, reason)
            self.pstt.journal.complete(record)
            self.pstt.observe_run(record, run.schedule)
            return record
