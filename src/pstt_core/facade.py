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
from .envsubst import missing_error
from .errors import ConfigError
from .health import run_checks
from .history import HistoryStore, SchedulerMetricsStore
from .home import Home
from .logs import logging_to, redactor, release_logging, setup_logging
from .models import RunInfo, RunRecord, Schedule
from .pipeline import Progress
from .plugins import PluginInfo, disabled_from_env, get_plugin_manager, list_plugins
from .registry import Registry
from .runner import Runner
from .scheduler import Scheduler
from .schedules import ScheduleStore
from .settings import Settings, lookup_env, read_dotenv
from .state import file_stamp
from .timefmt import display_zone

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
    :param lenient_env: ``${VAR}``s of ``connections.json`` that are not set do not stop
        loading; they are listed in ``config.missing``, nothing that uses them connects and
        ``start()`` refuses (for commands that only read schedules and history).
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *,
                 environ: Mapping[str, str] | None = None,
                 plugin_manager: pluggy.PluginManager | None = None, logs: bool = True,
                 lenient_env: bool = False):
        self.home = Home.resolve(home)
        dotenv = read_dotenv(self.home.root)
        env = os.environ if environ is None else environ
        disabled = env.get("PSTT_DISABLED_PLUGINS", dotenv.get("PSTT_DISABLED_PLUGINS") or "")
        self.pm = plugin_manager or get_plugin_manager(disabled_from_env(disabled))
        self.registry = Registry(self.pm)
        self.settings = Settings.load(self.registry.settings.values(), self.home.root,
                                      environ=environ, dotenv=dotenv)
        self._environ = environ
        self.display_zone = display_zone(self.settings)  # a bad name stops start-up here
        self._lenient_env = lenient_env
        self._config_lock = threading.Lock()
        self._config_stamp = file_stamp(self.home.connections)
        self.config: Config = self._load_config(dotenv)
        # A changed connections.json that could not be used (the previous one stays in force).
        self.config_error: ConfigError | None = None
        redactor.add({self.settings["PSTT_API_TOKEN"], self.settings["PSTT_SECRET_KEY"]})
        self._logs = logs
        self._logs_attached = False
        self._attach_logs()
        self.databases = self._databases()
        self.schedules = ScheduleStore(self.home.schedules, self)
        self.history = HistoryStore(self.home.history, self.settings["PSTT_HISTORY_MAX_RECORDS"],
                                    lock_dir=self.home.locks)
        self.scheduler_metrics = SchedulerMetricsStore(self.home.scheduler_metrics,
                                                       lock_dir=self.home.locks)
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
        if self.config.missing:
            raise missing_error(self.config.missing, self.config.file)
        self._attach_logs()  # again after close()
        self.home.exports.mkdir(parents=True, exist_ok=True)
        with logging_to(self.home.logs):
            self.pm.hook.pstt_startup(pstt=self)
            if scheduler and self.settings["PSTT_SCHEDULER_ENABLED"]:
                self.scheduler.start()
            self.started = True
            log.info("PSTT started on %s", self.home.root)

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

    # -- configuration ---------------------------------------------------------------
    def _load_config(self, dotenv: Mapping[str, str | None]) -> Config:
        config = load_config(self.home.connections, self.registry.sections,
                             lookup_env(dotenv, self._environ), lenient=self._lenient_env)
        redactor.add(config.secrets)
        return config

    def _databases(self) -> Databases:
        unresolved = {name: self.config.unresolved(f"$.databases[{i}]")
                      for i, name in enumerate(self.config.databases)}
        return Databases(self.config.databases, self.home.root, unresolved)

    def reload_config(self) -> bool:
        """Re-read ``connections.json`` (with ``.env`` for its ``${VAR}``s) if it changed on
        disk since it was last read; True when a new configuration took effect.

        A valid file replaces the configuration: engines are rebuilt and the scheduler
        re-checks every schedule against the new connections. An invalid one (a typo, an
        editor half-way through saving) keeps the configuration in force and is kept in
        ``config_error`` — shown by the ``configuration`` health check on ``/`` and
        ``/api/health`` — and logged once per change of the file.
        """
        stamp = file_stamp(self.home.connections)
        if stamp == self._config_stamp:
            return False
        with self._config_lock:
            if stamp == self._config_stamp:
                return False
            self._config_stamp = stamp
            with logging_to(self.home.logs):
                try:
                    config = self._load_config(read_dotenv(self.home.root))
                except ConfigError as exc:
                    self.config_error = exc
                    log.error("connections.json changed but cannot be used; the configuration "
                              "read before stays in force: %s", exc)
                    return False
                old, self.config = self.databases, config
                self.databases = self._databases()
                old.dispose()  # connections in use by a run are closed when it returns them
                self.config_error = None
                log.info("connections.json changed on disk; configuration reloaded")
        self.scheduler.sync()
        return True

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

    def observe_run(self, record: RunRecord, run: RunInfo) -> None:
        """Tell each plugin's ``run_finished``; one observer's failure never affects others."""
        for impl in reversed(self.pm.hook.run_finished.get_hookimpls()):
            try:
                impl.function(record=record, schedule=run.schedule, pstt=self)
            except Exception:
                log.exception("run_finished observer of plugin %s failed", impl.plugin_name)

    # -- introspection ---------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        return list_plugins(self.pm)

    def health(self) -> dict[str, Any]:
        self.reload_config()  # also when no scheduler runs the file watcher
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
