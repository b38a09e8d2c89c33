"""``Pstt``: the one object to embed — load a home, start/stop, run now, serve."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from .config import Config, load_config
from .databases import Databases
from .errors import ConfigError, PsttError
from .health import run_checks
from .history import HistoryStore, SchedulerMetricsStore
from .home import Home
from .journal import RunJournal
from .logs import logging_to, redactor, release_logging, setup_logging
from .models import RunInfo, RunRecord, Schedule
from .pipeline import Progress
from .plugins import PluginInfo, disabled_from_env, get_plugin_manager, list_plugins
from .registry import Registry
from .runner import Runner
from .scheduler import Scheduler
from .schedules import ScheduleStore
from .settings import Settings, lookup_env, read_dotenv

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger("pstt")


class Pstt:
    """A PSTT instance bound to one home directory.

    >>> with Pstt("/srv/pstt") as app:        # starts the scheduler
    ...     record = app.run("orders-to-kafka")

    :param home: the home directory (default ``$PSTT_HOME`` or the current directory).
    :param environ: settings source instead of ``os.environ`` (``.env`` is still read).
    :param plugin_manager: a ready PluginManager (tests); default the process-wide one.
    :param logs: attach the daily log file handler for this home.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *,
                 environ: Mapping[str, str] | None = None,
                 plugin_manager: pluggy.PluginManager | None = None, logs: bool = True):
        self.home = Home.resolve(home)
        dotenv = read_dotenv(self.home.root)
        env = os.environ if environ is None else environ
        disabled = env.get("PSTT_DISABLED_PLUGINS", dotenv.get("PSTT_DISABLED_PLUGINS") or "")
        self.pm = plugin_manager or get_plugin_manager(disabled_from_env(disabled))
        self.registry = Registry(self.pm)
        self.settings = Settings.load(self.registry.settings.values(), self.home.root,
                                      environ=environ, dotenv=dotenv)
        self.config: Config = load_config(self.home.connections, self.registry.sections,
                                          lookup_env(dotenv, environ))
        redactor.add(self.config.secrets | {self.settings["PSTT_API_TOKEN"],
                                            self.settings["PSTT_SECRET_KEY"]})
        self._logs = logs
        self._logs_attached = False
        self._attach_logs()
        self.databases = Databases(self.config.databases, self.home.root)
        self.schedules = ScheduleStore(self.home.schedules, self)
        self.history = HistoryStore(self.home.history, self.settings["PSTT_HISTORY_MAX_RECORDS"],
                                    lock_dir=self.home.locks)
        self.scheduler_metrics = SchedulerMetricsStore(self.home.scheduler_metrics,
                                                       lock_dir=self.home.locks)
        self.journal = RunJournal(self.home.journal, self.history, self.scheduler_metrics,
                                  self.home.locks, observe=self._observe_from_journal)
        self.runner = Runner(self)
        self.scheduler = Scheduler(self)
        self.started = False
        self._app: Starlette | None = None
        self._background: set[threading.Thread] = set()
        # Per-plugin state (producers, metrics services …) keyed by plugin name.
        self.state: dict[str, Any] = {}

    # -- lifecycle -------------------------------------------------------------------
    def start(self, *, scheduler: bool = True) -> None:
        """Call the plugins' ``pstt_startup`` and start the scheduler."""
        if self.started:
            return
        self._attach_logs()  # again after close()
        self.home.exports.mkdir(parents=True, exist_ok=True)
        with logging_to(self.home.logs):
            self.recover_runs()
            self.pm.hook.pstt_startup(pstt=self)
            if scheduler and self.settings["PSTT_SCHEDULER_ENABLED"]:
                self.scheduler.start()
            self.started = True
            log.info("PSTT started on %s", self.home.root)

    def check_state(self) -> None:
        """Raise the error of the first state file that cannot be understood (see
        :meth:`state_problems`)."""
        problems = self.state_problems()
        if problems:
            raise problems[0]

    def state_problems(self) -> list[ConfigError]:
        """The errors of the core's state files (history, counters, schedules.json as a
        whole); each names the file and what is wrong with it."""
        problems: list[ConfigError] = []
        for check in (self.history.check, self.scheduler_metrics.data, self.schedules.load):
            try:
                check()
            except ConfigError as exc:
                problems.append(exc)
        return problems

    def stop(self) -> None:
        """Stop the scheduler (waiting for running jobs), then ``pstt_shutdown``."""
        if not self.started:
            return
        self.scheduler.stop(wait=True)
        for thread in list(self._background):
            thread.join(timeout=60)
        with logging_to(self.home.logs):
            try:
                self.pm.hook.pstt_shutdown(pstt=self)
            finally:
                self.databases.dispose()
                self.started = False
                log.info("PSTT stopped")

    def close(self) -> None:
        """``stop()``, then detach this home's log file handler (the last user of a home's
        handler closes it), so that a process can open and close many homes."""
        self.stop()
        if self._logs_attached:
            release_logging(self.home.logs)
            self._logs_attached = False

    def _attach_logs(self) -> None:
        if self._logs and not self._logs_attached:
            setup_logging(self.home.logs, self.settings["PSTT_LOG_LEVEL"],
                          self.settings["PSTT_LOG_RETENTION_DAYS"])
            self._logs_attached = True

    def __enter__(self) -> Pstt:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schedules -------------------------------------------------------------------
    def create_schedule(self, data: dict[str, Any]) -> Schedule:
        sched = self.schedules.create(data)
        self.scheduler.sync()
        return sched

    def update_schedule(self, schedule_id: str, data: dict[str, Any]) -> Schedule:
        sched = self.schedules.update(schedule_id, data)
        self.scheduler.sync()
        return sched

    def patch_schedule(self, schedule_id: str, changes: dict[str, Any]) -> Schedule:
        sched = self.schedules.patch(schedule_id, changes)
        self.scheduler.sync()
        return sched

    def delete_schedule(self, schedule_id: str) -> None:
        self.schedules.delete(schedule_id)
        self.scheduler.sync()

    # -- runs ------------------------------------------------------------------------
    def recover_runs(self) -> list[RunRecord]:
        """Runs of processes that ended mid-run become ``interrupted`` records, and records
        the history could not take before are added to it (see :mod:`pstt_core.journal`).
        Called by :meth:`start` and ``pstt check``; a damaged history leaves them waiting."""
        try:
            return self.journal.recover()
        except Exception as exc:  # e.g. a damaged history: reported by check and health
            log.error("could not recover the run journal: %s", exc)
            return []

    def run(self, schedule_id: str, *, progress: Progress | None = None) -> RunRecord:
        """Run a schedule now and wait for its record. Raises ``NotFoundError`` /
        ``ConflictError``; run failures are in the record, not raised."""
        return self.runner.run(self.runner.prepare(schedule_id), progress=progress)

    def run_in_background(self, schedule_id: str) -> RunInfo:
        """Start a run in a thread and return its RunInfo (``export_id``) at once."""
        run = self.runner.prepare(schedule_id)
        self.runner.reserve(run)  # ConflictError now, not later inside the thread

        def target() -> None:
            try:
                self.runner.run(run, reserved=True)
            except Exception:
                log.exception("background run of %s failed", schedule_id)
            finally:
                self._background.discard(threading.current_thread())

        thread = threading.Thread(target=target, name=f"pstt-run-{schedule_id}", daemon=True)
        self._background.add(thread)
        thread.start()
        return run

    def observe_run(self, record: RunRecord, schedule: Schedule) -> None:
        """Tell each plugin's ``run_finished`` (once ``record`` is in the history); one
        observer's failure never affects others."""
        for impl in reversed(self.pm.hook.run_finished.get_hookimpls()):
            try:
                impl.function(record=record, schedule=schedule, pstt=self)
            except Exception:
                log.exception("run_finished observer of plugin %s failed", impl.plugin_name)

    def _observe_from_journal(self, record: RunRecord) -> None:
        """A record the journal added to the history later (kept, or of an ended process)."""
        try:
            schedule = self.schedules.get(record.schedule_id)
        except PsttError as exc:  # deleted or invalid since: the record stands without observers
            log.warning("run %s is in the history; its observers were not called: %s",
                        record.export_id, exc)
            return
        self.observe_run(record, schedule)

    # -- introspection ---------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        return list_plugins(self.pm)

    def health(self) -> dict[str, Any]:
        return run_checks(list(self.registry.health_checks.values()), self)

    def asgi_app(self) -> Starlette:
        """The Starlette app (built once); mount it in another ASGI app if you like."""
        if self._app is None:
            from .web.app import create_app

            self._app = create_app(self)
        return self._app

    @property
    def exports_root(self) -> Path:
        return self.home.exports
