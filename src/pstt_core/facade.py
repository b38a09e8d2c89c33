"""``Pstt``: the one object to embed — load a home, start/stop, run now, serve."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from .backend import ignored_home_files, open_backend, url_password
from .builtin import CORE_HEALTH_CHECKS, core_health_checks
from .config import Config, load_config
from .databases import Databases
from .envsubst import missing_error
from .errors import ConfigError, PsttError, StateFileError
from .health import run_checks
from .home import Home
from .incremental import Window, backfill_window, set_watermark, watermark_view
from .instance import instance_id
from .journal import RunJournal
from .logs import logging_to, redactor, release_logging, setup_logging
from .models import RunInfo, RunRecord, Schedule
from .pipeline import Progress
from .plugin import HistoryView, PluginEnv, PluginState
from .plugin.state import FileStateBackend, Resources
from .plugins import CORE, HookFailure, PluginInfo, Plugins, disabled_from_env
from .presence import instances_view
from .registry import Registry
from .runner import Runner
from .scheduler import Scheduler
from .schedules import ScheduleStore
from .settings import Settings, lookup_env, read_dotenv
from .sinks import SinkContext, SinkType
from .state import file_stamp
from .timefmt import display_zone
from .watermarks import WatermarkStore

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .web.metrics import RunMetrics

log = logging.getLogger("pstt")


class Pstt:
    """A PSTT instance bound to one home directory.

    >>> with Pstt("/srv/pstt") as app:        # starts the scheduler
    ...     record = app.run("orders-to-kafka")

    :param home: the home directory (default ``$PSTT_HOME`` or the current directory).
    :param environ: settings source instead of ``os.environ`` (``.env`` is still read).
    :param plugin_manager: a ready pluggy ``PluginManager`` to use as it is; by default the
        facade loads its own: the core, the installed plugins not in
        ``PSTT_DISABLED_PLUGINS``, and the plugins registered with ``register_plugin``.
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
        self.hooks = Plugins(disabled_from_env(disabled), pm=plugin_manager)
        self.pm = self.hooks.pm
        self.registry = Registry(self.hooks, reserved={"health check": CORE_HEALTH_CHECKS},
                                 reserved_files=[p.name for p in self.home.state_files])
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
        redactor.add({self.settings["PSTT_API_TOKEN"], self.settings["PSTT_SECRET_KEY"],
                      url_password(self.settings["PSTT_STATE_URL"])})
        self._logs = logs
        self._logs_attached = False
        self._attach_logs()
        self.databases = self._databases()
        self._instance: str | None = None
        files = self.registry.state_files
        self.document_files = {p: f.name for p, f in files.items()}
        self.document_validators = {p: f.validate for p, f in files.items()
                                    if f.validate is not None}
        # Where the shared state is (see pstt_core.backend): history, counters, plugin
        # documents, fire claims.
        self.backend = open_backend(
            self.home, url=self.settings["PSTT_STATE_URL"],
            max_records=self.settings["PSTT_HISTORY_MAX_RECORDS"],
            instance=lambda: self.instance, document_files=self.document_files,
            validators=self.document_validators,
            lease_ttl=self.settings["PSTT_LEASE_TTL_SEC"])
        # schedules and watermarks: in the home's files, or shared through the state database
        self.schedules = ScheduleStore(self.backend, self)
        self.history = self.backend.history
        self.scheduler_metrics = self.backend.counters
        self.claims = self.backend.claims
        # watermarks of incremental schedules, committed by the journal with a successful
        # run's record
        self.watermarks = WatermarkStore(self.backend)
        self.journal = RunJournal(self.home.journal, self.history, self.scheduler_metrics,
                                  self.home.locks, observe=self._observe_from_journal,
                                  instance=lambda: self.instance, watermarks=self.watermarks)
        self.runner = Runner(self)
        self.scheduler = Scheduler(self)
        self.started = False
        self._app: Starlette | None = None
        self._background: set[threading.Thread] = set()
        self.run_metrics: RunMetrics | None = None  # set when the web app is built
        # Deprecated (plugins written for 1.1 kept objects here); plugins use env.state.
        self.state: dict[str, Any] = {}
        self.export_root = self._export_root()
        self._state = self.backend.documents
        self.state_files = frozenset(
            p.resolve() for p in [*self.home.state_files,
                                  *(FileStateBackend.path_in(self.home.exports, name,
                                                             self.document_files)
                                    for name in self.hooks.names())])
        self.private_dirs = frozenset(p.resolve() for p in self.home.private_dirs)
        self._resources = Resources()
        self._envs: dict[str, PluginEnv] = {}
        self._envs_lock = threading.Lock()
        self._core_checks = core_health_checks(self)

    @property
    def instance(self) -> str:
        """This instance's id, ``<host>/<name>`` (made on first use: only runs need it)."""
        if self._instance is None:
            self._instance = instance_id(self.settings["PSTT_INSTANCE_NAME"], self.home.root)
        return self._instance

    def instances(self) -> list[dict[str, Any]]:
        """The scheduler instances sharing this state: alive or not, with their last
        heartbeat (see :mod:`pstt_core.presence`)."""
        return instances_view(self.backend.presence.processes(),
                              self.settings["PSTT_LEASE_TTL_SEC"])

    def state_summary(self, *, contact: bool = True) -> dict[str, Any]:
        """Which backend keeps the state, where, this instance, and the scheduler instances
        sharing it — read from a state database only when ``contact`` (the files backend's
        are always read); ``instances_error`` says why they could not be read."""
        backend = self.backend
        state: dict[str, Any] = {"backend": backend.name, "location": backend.describe(),
                                 "instance": self.instance}
        if not contact and backend.name != "files":
            return state
        try:
            state["instances"] = self.instances()
        except Exception as exc:  # the database went away: the records check says so
            first = (str(exc).splitlines() or [""])[0]
            state["instances_error"] = f"{type(exc).__name__}: {first}"[:300]
        return state

    def _export_root(self) -> Path:
        configured = self.settings["PSTT_EXPORT_ROOT"]
        root = Path(configured).expanduser() if configured else self.home.exports
        return (root if root.is_absolute() else self.home.root / root).resolve()

    # -- plugins ---------------------------------------------------------------------
    def plugin_env(self, name: str) -> PluginEnv:
        """The :class:`PluginEnv` of plugin ``name`` (one per plugin, made on first use)."""
        with self._envs_lock:
            env = self._envs.get(name)
            if env is None:
                modes = self.registry.sharing_modes_of(name)
                env = self._envs[name] = PluginEnv(
                    name=name, settings=self.settings, export_root=self.export_root,
                    state=PluginState(name, self._state, self._resources),
                    history=HistoryView(self.history, modes),
                    logger=logging.getLogger(f"pstt.plugins.{name}"),
                    state_files=self.state_files, private_dirs=self.private_dirs,
                    sharing_modes=modes,
                    sections=lambda: self.config.sections,
                    secret_fields={n: s.secret_fields for n, s in self.registry.sections.items()},
                    formats=self.registry.formats, schedules=self.schedules.all)
            return env

    def owner_env(self, kind: str, name: str) -> PluginEnv:
        """The env of the plugin that registered ``name`` as a ``kind`` ("sink type" …)."""
        return self.plugin_env(self.registry.plugin_of(kind, name) or CORE)

    def sink_context(self, sink_type: SinkType, options: Any, run: RunInfo) -> SinkContext:
        return SinkContext(options=options, run=run,
                           env=self.owner_env("sink type", sink_type.name), facade=self)

    def _report(self, failures: list[HookFailure]) -> None:
        """Lifecycle failures: logged by the caller, listed by `pstt plugins` and /settings."""
        self.hooks.problems.extend(str(f) for f in failures)

    # -- lifecycle -------------------------------------------------------------------
    def start(self, *, scheduler: bool = True) -> None:
        """Call the plugins' ``pstt_startup`` and start the scheduler."""
        if self.started:
            return
        if self.config.missing:
            raise missing_error(self.config.missing, self.config.file)
        self._attach_logs()  # again after close()
        self.home.exports.mkdir(mode=0o700, parents=True, exist_ok=True)
        with logging_to(self.home.logs):
            problem = self.backend.problem()
            if problem:
                raise ConfigError(problem)
            for ignored in ignored_home_files(self.home, self.backend):
                log.warning("%s is not used: with PSTT_STATE_URL the schedules and watermarks "
                            "are in the state database (`pstt state migrate --to URL` copies "
                            "them there)", ignored)
            self.backend.leases.start()
            self.recover_runs()
            # A plugin's damaged state file stops the start, naming the file, rather than
            # leaving the plugin to fail on it later (the core's own files refuse each run
            # instead, its record kept in the journal).
            plugin_problems = self.plugin_state_problems()
            if plugin_problems:
                raise plugin_problems[0]
            self._report(self.hooks.notify("pstt_startup", pstt=self, env_for=self.plugin_env))
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
        """The errors of the state files (the core's — history, counters, schedules.json as a
        whole, watermarks — then each plugin's document); each names the file and what is wrong with it."""
        problems: list[ConfigError] = []
        for check in (self.history.check, self.scheduler_metrics.data, self.schedules.load,
                      self.watermarks.all):
            try:
                check()
            except ConfigError as exc:
                problems.append(exc)
        return problems + self.plugin_state_problems()

    def plugin_state_problems(self) -> list[StateFileError]:
        """The errors of the plugins' state documents (see :class:`pstt_core.StateFile`)."""
        problems: list[StateFileError] = []
        for name in self.hooks.names():
            try:
                self._state.read(name)
            except StateFileError as exc:
                problems.append(exc)
        return problems

    def stop(self) -> None:
        """Stop the scheduler (waiting for running jobs), then ``pstt_shutdown``, then close
        what the plugins hold in ``env.state`` resources and the database engines."""
        if not self.started:
            return
        self.scheduler.stop(wait=True)
        with logging_to(self.home.logs):
            self._join_background()
            try:
                self._report(self.hooks.notify("pstt_shutdown", pstt=self,
                                               env_for=self.plugin_env))
            finally:
                self._release()
                self.started = False
                log.info("PSTT stopped")

    def close(self) -> None:
        """``stop()``; release whatever a run, a health check, the API or a metrics scrape
        opened without ``start()`` (plugin resources, database engines); then detach this
        home's log file handler (the last user of a home's handler closes it), so that a
        process can open and close many homes."""
        self.stop()
        with logging_to(self.home.logs):
            self._join_background()
            self._release()
        if self._logs_attached:
            release_logging(self.home.logs)
            self._logs_attached = False

    def _join_background(self) -> None:
        for thread in list(self._background):
            thread.join(timeout=60)

    def _release(self) -> None:
        self._resources.close_all()
        self.databases.dispose()
        self.backend.close()

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
    def recover_runs(self) -> list[RunRecord]:
        """Runs of processes that ended mid-run become ``interrupted`` records, and records
        the history could not take before are added to it (see :mod:`pstt_core.journal`).
        Called by :meth:`start` and ``pstt check``; a damaged history leaves them waiting."""
        try:
            return self.journal.recover()
        except Exception as exc:  # e.g. a damaged history: reported by check and health
            log.error("could not recover the run journal: %s", exc)
            return []

    def run(self, schedule_id: str, *, progress: Progress | None = None,
            window: Window | None = None) -> RunRecord:
        """Run a schedule now and wait for its record. Raises ``NotFoundError`` /
        ``ConflictError``; run failures are in the record, not raised.

        :param window: a backfill of an incremental schedule (``trigger: "backfill"``): the
            rows of that window of the cursor, leaving the watermark where it is."""
        return self.runner.run(self.runner.prepare(schedule_id, window=window),
                               progress=progress)

    def run_in_background(self, schedule_id: str, *, window: Window | None = None) -> RunInfo:
        """Start a run in a thread and return its RunInfo (``export_id``) at once."""
        run = self.runner.prepare(schedule_id, window=window)
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

    # -- watermarks of incremental schedules ------------------------------------------------
    def watermark(self, schedule_id: str) -> dict[str, Any]:
        """The watermark of an incremental schedule, as ``GET …/watermark`` shows it."""
        return watermark_view(self.schedules.get(schedule_id),
                              self.watermarks.get(schedule_id))

    def set_watermark(self, schedule_id: str, data: Any) -> dict[str, Any]:
        """Put the watermark at ``{"value", "type"?, "tiebreaker_value"?, …}``."""
        schedule = self.schedules.get(schedule_id)
        return watermark_view(schedule, set_watermark(self.watermarks, schedule, data))

    def reset_watermark(self, schedule_id: str) -> dict[str, Any]:
        """Forget the watermark: the next run starts from ``start`` (or the beginning)."""
        schedule = self.schedules.get(schedule_id)
        watermark_view(schedule, None)  # refuses a schedule that is not incremental
        existed = self.watermarks.reset(schedule_id)
        return {**watermark_view(schedule, None), "reset": existed}

    def backfill_window(self, schedule_id: str, low: Any, high: Any) -> Window:
        """The :class:`~pstt_core.incremental.Window` of ``from``/``to`` as a person wrote
        them, typed like the schedule's watermark."""
        return backfill_window(self.schedules.get(schedule_id),
                               self.watermarks.get(schedule_id), low, high)

    def observe_run(self, record: RunRecord, schedule: Schedule) -> None:
        """Tell each plugin's ``run_finished`` (once ``record`` is in the history); a failing
        observer is logged (with its plugin) and never affects the others or the run."""
        self.hooks.notify("run_finished", record=record, schedule=schedule, pstt=self,
                          env_for=self.plugin_env)

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
        return self.hooks.info()

    @property
    def plugin_problems(self) -> list[str]:
        """What went wrong with plugins: load errors aside, refused or failing contributions
        and lifecycle hooks, attributed to their plugin."""
        return self.hooks.problems

    def health(self) -> dict[str, Any]:
        self.reload_config()  # also when no scheduler runs the file watcher
        core = self.plugin_env(CORE)
        checks = [(check, core) for check in self._core_checks]
        checks += [(check, self.owner_env("health check", name))
                   for name, check in self.registry.health_checks.items()]
        return run_checks(checks)

    def asgi_app(self) -> Starlette:
        """The Starlette app (built once); mount it in another ASGI app if you like."""
        if self._app is None:
            from .web.app import create_app

            self._app = create_app(self)
        return self._app

    @property
    def exports_root(self) -> Path:
        """The home's ``exports/`` directory (state files); sinks write under
        :attr:`export_root`."""
        return self.home.exports
