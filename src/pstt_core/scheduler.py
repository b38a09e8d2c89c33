"""The APScheduler 3 background scheduler, kept in step with ``schedules.json``.

Each enabled schedule is one job (id = schedule id) with ``max_instances=1`` (no overlap),
``coalesce`` and the schedule's ``misfire_grace_sec`` (checked here, not by APScheduler, so
that a missed fire is recorded with its own fire time).

Every process sharing the state (``pstt serve`` twice on one home, a ``pstt run`` beside one,
instances sharing a state backend) schedules the same jobs and sees the same fire times —
interval triggers count from a fixed anchor (:data:`INTERVAL_ANCHOR`), not from when the
process started. Before a fire runs, or is recorded as skipped, it is claimed
(``(schedule_id, scheduled_at)``, :mod:`pstt_core.claims`): the first process to claim it
runs it; the others record nothing. ``sync()`` reconciles the jobs
with the store after every change made through the facade, and a light watcher job
re-syncs when the file's modification stamp changes, so hand edits of ``schedules.json``
take effect without a restart too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.triggers.interval import IntervalTrigger

from . import catchup, staleness
from .errors import ConfigError, RecordNotWrittenError, StateUnavailableError
from .logs import logging_to
from .models import Schedule, Trigger, iso, utcnow
from .plugins import core_version
from .presence import process_key
from .runner import SKIP_BUSY
from .schedules import cron_trigger

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from .facade import Pstt

log = logging.getLogger("pstt.scheduler")

# ':' cannot appear in a schedule id, so this job never collides with one.
WATCH_JOB_ID = "pstt:watch-schedules"
STALE_JOB_ID = "pstt:staleness"
BEAT_JOB_ID = "pstt:heartbeat"
CATCHUP_JOB_ID = "pstt:missed-fires"
OWN_JOBS = (WATCH_JOB_ID, STALE_JOB_ID, BEAT_JOB_ID, CATCHUP_JOB_ID)


# Interval fires are on a grid counted from here, the same in every process and after every
# restart (every 15 minutes: :00, :15, :30, :45).
INTERVAL_ANCHOR = datetime(1970, 1, 1, tzinfo=timezone.utc)


def make_trigger(schedule: Schedule) -> Any:
    return trigger_of(schedule.trigger, schedule.timezone)


def trigger_of(trigger: Trigger, tz: str) -> Any:
    """The APScheduler trigger of a schedule's ``trigger`` in the IANA zone ``tz``."""
    if trigger.type == "cron":
        return cron_trigger(trigger.expression or "", tz)
    return IntervalTrigger(seconds=trigger.interval_seconds(), timezone=tz,
                           start_date=INTERVAL_ANCHOR)


class _Fires:
    """A job as APScheduler's ``run_job`` sees it, whose function is given each fire time in
    turn (``scheduled_at``). Its misfire check is left to :meth:`Scheduler._fire`, so every
    fire time reaches the function, in order."""

    misfire_grace_time = None

    def __init__(self, job: Any, run_times: Sequence[datetime]):
        self.job = job
        self.id = job.id
        self._jobstore_alias = job._jobstore_alias
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        self._times = deque(run_times)

    def func(self) -> Any:
        return self.job.func(*self.job.args, scheduled_at=self._times.popleft(),
                             **self.job.kwargs)

    def __str__(self) -> str:
        return str(self.job)


class _FireTimeExecutor(ThreadPoolExecutor):
    """The thread pool, passing each schedule job the fire time it runs for."""

    def _do_submit_job(self, job: Any, run_times: Sequence[datetime]) -> None:
        if job.id in OWN_JOBS:
            super()._do_submit_job(job, run_times)
        else:
            super()._do_submit_job(_Fires(job, run_times), run_times)


def job_options(schedule: Schedule) -> dict[str, Any]:
    """What ``add_job`` gets for this schedule, built and checked the way APScheduler uses it
    (its first fire time, its misfire window): validation calls this too, so a value the
    scheduler would refuse never reaches the file. Raises ValueError / OverflowError."""
    trigger = make_trigger(schedule)
    now = datetime.now(timezone.utc)
    trigger.get_next_fire_time(None, now)
    grace = schedule.misfire_grace_sec
    if grace is not None:
        _ = now - timedelta(seconds=grace)
    return {"trigger": trigger, "misfire_grace_time": grace, "coalesce": schedule.coalesce,
            "max_instances": 1, "name": schedule.name}


def next_runs(schedule: Schedule, *, after: datetime | None = None,
              count: int = 5) -> list[datetime]:
    """The schedule's next ``count`` fire times after ``after`` (default: now), in its zone."""
    return preview(schedule.trigger, schedule.timezone, after=after, count=count)


def preview(trigger: Trigger, tz: str, *, after: datetime | None = None,
            count: int = 5) -> list[datetime]:
    """The next ``count`` fire times of ``trigger`` in ``tz`` after ``after`` (default: now);
    fewer when the calendar ends first (an interval of millennia has none)."""
    from .cron import next_fire_times

    start = after or datetime.now(timezone.utc)
    try:
        aps = trigger_of(trigger, tz)
    except OverflowError:  # an interval longer than a timedelta holds: it never fires
        return []
    return list(next_fire_times(aps, start, count))


def next_fire_time(schedule: Schedule, now: datetime) -> datetime | None:
    """When a cron schedule's trigger fires next after ``now``, without a scheduler (for the
    CLI); ``None`` for an interval, whose fires count from when the service started."""
    if schedule.trigger.type != "cron":
        return None
    fires = next_runs(schedule, after=now, count=1)
    return fires[0] if fires else None


def _missed(due: datetime, late: float, grace: int) -> str:
    return (f"missed: due at {due.isoformat(timespec='seconds')}, {late:.0f} s late "
            f"(misfire_grace_sec={grace})")


def _fingerprint(schedule: Schedule) -> tuple[Any, ...]:
    t = schedule.trigger
    return (t.type, t.expression, t.interval_seconds(), schedule.timezone,
            schedule.misfire_grace_sec, schedule.coalesce)


class _Idle:
    """The APScheduler's place before :meth:`Scheduler.start`: not running."""

    running = False


_IDLE = _Idle()


class Scheduler:
    def __init__(self, pstt: Pstt):
        self.pstt = pstt
        # made by start(): importing APScheduler's schedulers scans the installed entry points
        # (0.1 s), which a facade that never schedules (``pstt run``) does not need
        self._aps: Any = _IDLE
        self._fingerprints: dict[str, tuple[Any, ...]] = {}
        self._lock = threading.Lock()
        self._file_stamp: tuple[int, int, int] | None = None
        # invalid schedule → the error last logged for it: logged again only when it changes
        self._reported: dict[str, str] = {}
        self._refused: dict[str, str] = {}  # valid schedules APScheduler still refused
        self._presence: dict[str, Any] | None = None  # this process's heartbeat row

    def _new_scheduler(self) -> BackgroundScheduler:
        from apscheduler.schedulers.background import BackgroundScheduler

        workers = self.pstt.settings["PSTT_MAX_CONCURRENT_RUNS"]
        aps = BackgroundScheduler(executors={"default": _FireTimeExecutor(workers)},
                                  job_defaults={"max_instances": 1})
        aps.add_listener(self._not_run, EVENT_JOB_MAX_INSTANCES)
        return aps

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def start(self) -> None:
        if self._aps is _IDLE:
            self._aps = self._new_scheduler()
        if not self._aps.running:
            self._aps.start()
            log.info("scheduler started")
            period = self.pstt.settings["PSTT_SCHEDULES_RELOAD_SEC"]
            if period:
                self._aps.add_job(self._watch, IntervalTrigger(seconds=period), id=WATCH_JOB_ID,
                                  name="reload schedules.json when it changes",
                                  replace_existing=True, coalesce=True, max_instances=1)
            period = self.pstt.settings["PSTT_STALENESS_CHECK_SEC"]
            if period:
                self._aps.add_job(self._check_staleness, IntervalTrigger(seconds=period),
                                  id=STALE_JOB_ID, name="staleness watchdog",
                                  replace_existing=True, coalesce=True, max_instances=1)
        gap = self._join() if self._presence is None else None
        try:
            self.sync()
        except ConfigError as exc:  # a damaged schedules.json: no jobs until it is fixed
            log.error("no schedule runs: %s", exc)
        except Exception:  # start-up never fails because of what a file holds
            log.exception("no schedule runs: the schedules could not be synchronised")
        if gap is not None and self.pstt.settings["PSTT_MISSED_FIRES_LOOKBACK_SEC"]:
            # the first fire each job runs itself: every fire before it is in the past
            firsts = {j.id: j.next_run_time for j in self._aps.get_jobs()
                      if j.id not in OWN_JOBS and j.next_run_time}
            self._aps.add_job(self._record_missed_fires, args=[gap, firsts], id=CATCHUP_JOB_ID,
                              name="record the fires missed while no instance ran",
                              replace_existing=True)

    # -- presence: this process's heartbeat ----------------------------------------------
    def _join(self) -> float | None:
        """Start this process's heartbeat; returns since when no other scheduler was seen
        (``None``: another is alive, or none is known)."""
        presence = self.pstt.backend.presence
        ttl = self.pstt.settings["PSTT_LEASE_TTL_SEC"]
        me = process_key(self.pstt.instance)
        try:
            gap = catchup.gap_start(presence.processes(), me, ttl, time.time())
        except Exception as exc:  # the state is away: nothing is known of the gap
            log.warning("could not read the other instances' heartbeats: %s", exc)
            gap = None
        self._presence = {"process": me, "instance": self.pstt.instance, "pid": os.getpid(),
                          "started_at": iso(utcnow()), "heartbeat_ts": time.time(),
                          "stopped_ts": None, "version": core_version()}
        self._beat()
        self._aps.add_job(self._beat, IntervalTrigger(seconds=max(ttl / 3, 1.0)), id=BEAT_JOB_ID,
                          name="heartbeat of this scheduler process", replace_existing=True,
                          coalesce=True, max_instances=1)
        return gap

    def _beat(self) -> None:
        row = self._presence
        if row is None:
            return
        row["heartbeat_ts"] = time.time()
        try:
            self.pstt.backend.presence.beat(dict(row))
        except Exception as exc:  # the state is away: other instances see this one lost
            with logging_to(self.pstt.home.logs):
                log.warning("heartbeat not written: %s", exc)

    def _leave(self) -> None:
        row, self._presence = self._presence, None
        if row is None:
            return
        try:
            self.pstt.backend.presence.leave(row["process"])
        except Exception as exc:
            log.warning("could not record this scheduler's stop: %s", exc)

    def _record_missed_fires(self, gap: float, firsts: dict[str, datetime]) -> None:
        """Record the fires that fell while no scheduler ran (see :mod:`pstt_core.catchup`);
        a schedule with ``catchup: latest`` runs its latest one."""
        with logging_to(self.pstt.home.logs):
            try:
                since = catchup.window(gap, self.pstt.settings["PSTT_MISSED_FIRES_LOOKBACK_SEC"],
                                       datetime.now(timezone.utc))
                latest = []
                for sid, sched in self.pstt.schedules.all().items():
                    if not sched.enabled or sid not in firsts:
                        continue
                    times, total = catchup.missed(sched, make_trigger(sched), since, firsts[sid])
                    if total > len(times):
                        log.warning("schedule %s missed %d fires while no instance was running; "
                                    "the latest %d are recorded", sid, total, len(times))
                    if times and sched.catchup == "latest":
                        latest.append((sid, times.pop()))
                    for due in times:
                        self._record_not_run(sid, due, catchup.reason(due))
                for sid, due in latest:
                    log.info("schedule %s: running the fire due at %s, missed while no instance "
                             "was running (catchup: latest)", sid, due.isoformat())
                    self._fire(sid, due, late_ok=True)
            except Exception:  # never stops the scheduler
                log.exception("could not record the fires missed while no instance ran")

    def stop(self, wait: bool = True) -> None:
        self._leave()
        if self._aps.running:
            self._aps.shutdown(wait=wait)
            # A shut-down APScheduler cannot restart its thread pool: the next start()
            # gets a fresh one.
            self._aps = _IDLE
            log.info("scheduler stopped")
        self._fingerprints.clear()

    def sync(self) -> None:
        """Add, update and remove jobs so they match the enabled, valid schedules."""
        if not self._aps.running:
            return
        with self._lock:
            self._file_stamp = self.pstt.schedules.file.stamp()
            schedules, invalid = self.pstt.schedules.load()
            self._report_invalid(invalid)
            wanted = {sid: s for sid, s in schedules.items() if s.enabled}
            for job in self._aps.get_jobs():
                if job.id not in wanted and job.id not in OWN_JOBS:
                    job.remove()
                    self._fingerprints.pop(job.id, None)
            for sid, sched in wanted.items():
                fp = _fingerprint(sched)
                if self._fingerprints.get(sid) == fp and self._aps.get_job(sid):
                    continue
                try:
                    self._aps.add_job(self._fire, args=[sid], id=sid, replace_existing=True,
                                      **job_options(sched))
                except Exception as exc:  # one schedule never keeps the others from running
                    self._unschedulable(sid, exc)
                    continue
                self._fingerprints[sid] = fp
                self._refused.pop(sid, None)

    def _unschedulable(self, sid: str, exc: Exception) -> None:
        """A schedule that passed validation but that APScheduler still refused: no job (an
        old one is removed), logged once like an invalid schedule."""
        if self._aps.get_job(sid):
            self._aps.remove_job(sid)
        self._fingerprints.pop(sid, None)
        message = f"{type(exc).__name__}: {exc}"[:300]
        if self._refused.get(sid) != message:
            log.error("schedule %s is invalid and will not run: the scheduler refused it: %s",
                      sid, message)
        self._refused[sid] = message

    def _report_invalid(self, invalid: dict[str, Any]) -> None:
        """Log each invalid schedule once per change of its error, not at every sync."""
        for key, err in invalid.items():
            if self._reported.get(key) != str(err):
                log.error("schedule %s is invalid and will not run: %s", key, err)
        self._reported = {key: str(err) for key, err in invalid.items()}

    def _watch(self) -> None:
        """Re-sync when schedules.json changed on disk (an editor, a deployment script);
        re-read connections.json when it changed (which re-syncs too)."""
        with logging_to(self.pstt.home.logs):
            try:
                if self.pstt.reload_config():
                    return
                if self.pstt.schedules.file.stamp() != self._file_stamp:
                    log.info("schedules.json changed on disk; reloading schedules")
                    self.sync()
            except Exception as exc:  # e.g. a half-typed file: keep the jobs, try again
                log.error("could not reload the schedules (%s): %s",
                          self.pstt.schedules.file.location, exc)

    def _check_staleness(self) -> None:
        with logging_to(self.pstt.home.logs):
            try:
                staleness.check(self.pstt)
            except Exception:  # a watchdog problem must never stop the scheduler
                log.exception("staleness check failed")

    def _fire(self, schedule_id: str, scheduled_at: datetime | None = None, *,
              late_ok: bool = False) -> None:
        """Run the fire of ``schedule_id`` due at ``scheduled_at`` (given by the executor)
        if this process claims it; ``late_ok``: however late (a caught-up missed fire)."""
        scheduled_at = scheduled_at or datetime.now(timezone.utc)
        with logging_to(self.pstt.home.logs):
            try:
                if not self._claim(schedule_id, scheduled_at):
                    return
                run = self.pstt.runner.prepare(schedule_id, trigger="schedule",
                                               scheduled_at=scheduled_at)
                late = (datetime.now(timezone.utc) - scheduled_at).total_seconds()
                grace = run.schedule.misfire_grace_sec  # None: a late fire runs however late
                if grace is not None and late > grace and not late_ok:
                    self.pstt.runner.skip(run, _missed(scheduled_at, late, grace))
                    return
                self.pstt.runner.run(run, skip_if_running=True)
            except RecordNotWrittenError:
                pass  # the run ended; the runner logged where its record is kept
            except StateUnavailableError as exc:  # nothing ran: no record can say so
                log.error("fire of %s due at %s not started: %s", schedule_id,
                          scheduled_at.isoformat(), exc)
            except Exception:  # the scheduler thread must survive anything a run does
                log.exception("scheduled run of %s could not start", schedule_id)

    def _claim(self, schedule_id: str, scheduled_at: datetime) -> bool:
        """Claim the fire for this process; ``False`` when another one has it."""
        if self.pstt.claims.claim(schedule_id, scheduled_at):
            return True
        log.debug("fire of %s at %s runs elsewhere", schedule_id, scheduled_at.isoformat())
        return False

    def _not_run(self, event: JobEvent) -> None:
        """A fire APScheduler refused before ``_fire`` because the previous run of the
        schedule is still going in this process: recorded as ``skipped`` (once, by the
        process that claims it) so the history shows every fire that did not run."""
        if event.job_id in OWN_JOBS:
            return
        with logging_to(self.pstt.home.logs):
            for scheduled_at in getattr(event, "scheduled_run_times", None) or []:
                self._record_not_run(event.job_id, scheduled_at, SKIP_BUSY)

    def _record_not_run(self, schedule_id: str, scheduled_at: datetime, reason: str) -> None:
        try:
            if not self._claim(schedule_id, scheduled_at):
                return
            run = self.pstt.runner.prepare(schedule_id, trigger="schedule",
                                           scheduled_at=scheduled_at)
            self.pstt.runner.skip(run, reason)
        except Exception:  # a listener error must never reach the scheduler thread
            log.exception("could not record the skipped fire of %s", schedule_id)

    def next_run_time(self, schedule_id: str) -> datetime | None:
        job = self._aps.get_job(schedule_id) if self._aps.running else None
        return job.next_run_time if job else None

    def jobs(self) -> list[dict[str, Any]]:
        if not self._aps.running:
            return []
        return [{"id": j.id, "name": j.name,
                 "next_run_time": j.next_run_time.isoformat() if j.next_run_time else None,
                 "timezone": str(getattr(j.trigger, "timezone", "") or "")}
                for j in self._aps.get_jobs() if j.id not in OWN_JOBS]
