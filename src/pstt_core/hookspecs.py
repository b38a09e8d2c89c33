"""The PSTT hook specification: everything a plugin can contribute, grouped by when it is called.

Contribution hooks receive a ``register`` callback rather than returning values, so that
the core can validate each contribution, attribute it to its plugin and refuse duplicates
(see :mod:`pstt_core.registry`). Built-in sinks use exactly these hooks.

Every hook is called by :meth:`pstt_core.plugins.Plugins.run`: one implementation at a time,
in registration order (the core, then entry points by name, then plugins registered at run
time), each with only the arguments it declares. The first registration of a name wins; an
exception is reported against its plugin and never stops the others. ``tryfirst`` /
``trylast`` do not change that order, and hook wrappers (``wrapper=True``,
``hookwrapper=True``) are not supported: they are reported and ignored.

Hooks that take ``env`` receive the calling plugin's own :class:`pstt_core.PluginEnv`. Their
``pstt`` argument (the whole facade) is kept for plugins written for 1.1 and for the core's
own plugin; new plugins use ``env``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from prometheus_client.registry import Collector
    from starlette.routing import BaseRoute

    from .config import ConfigSection
    from .facade import Pstt
    from .formats import OutputFormat
    from .health import HealthCheck
    from .models import RunRecord, Schedule
    from .plugin import PluginEnv, StateFile
    from .settings import Setting
    from .sinks import SinkType
    from .web.nav import NavLink

hookspec = pluggy.HookspecMarker("pstt")
hookimpl = pluggy.HookimplMarker("pstt")

PathLike = str | os.PathLike[str]


# -- Declarations: called once per facade when its registry is built, before settings,
# -- connections.json and schedules are read. Nothing of the home is known yet.

@hookspec
def register_sinks(register: Callable[[SinkType], None]) -> None:
    """Register sharing modes (sinks).

    Called once when the registry is built, before settings and configuration are read.

    :param register: call it with a :class:`pstt_core.SinkType` for each sharing mode the
        plugin provides. A name already taken by another plugin is refused and reported by
        ``pstt plugins``.
    """


@hookspec
def register_formats(register: Callable[[OutputFormat], None]) -> None:
    """Register output formats usable by every sink (``csv``, ``jsonl``, ``xlsx`` …).

    Called once when the registry is built. Every format registered here is offered by the
    format drop-downs of the sinks (options with ``choices_from: "formats"``).

    :param register: call it with a :class:`pstt_core.OutputFormat`.
    """


@hookspec
def register_settings(register: Callable[[Setting], None]) -> None:
    """Declare environment / ``.env`` settings (e.g. ``KAFKA_*``).

    Called once when the registry is built, before settings are loaded, so that every
    declared variable is parsed, validated and listed on the settings page.

    :param register: call it with a :class:`pstt_core.Setting`.
    """


@hookspec
def register_config_sections(register: Callable[[ConfigSection], None]) -> None:
    """Claim a top-level section of ``connections.json`` (e.g. ``kafka_connections``).

    Called once when the registry is built. The core validates the claimed section with the
    section's model and makes the result available as ``env.section(name)``; an absent
    section yields no entries.

    :param register: call it with a :class:`pstt_core.ConfigSection`.
    """


@hookspec
def register_health_checks(register: Callable[[HealthCheck], None]) -> None:
    """Contribute health checks shown by ``GET /api/health``, ``/`` and ``pstt check``.

    Called once when the registry is built. Each check is called with the plugin's env.

    :param register: call it with a :class:`pstt_core.HealthCheck`.
    """


@hookspec
def register_state_file(register: Callable[[StateFile], None]) -> None:
    """Name the file that holds the plugin's state (``env.state``) in ``exports/``.

    Called once when the registry is built. Without it a plugin's state lives in
    ``exports/<plugin>_state.json``. A name used by the core or by another plugin is refused;
    every state file is protected from sinks that write files under the export root. Its
    ``validate`` (optional) checks the document whenever it is read: a damaged file raises
    :class:`pstt_core.StateFileError`, is never written over, and stops ``Pstt.start()``.

    :param register: call it once with a :class:`pstt_core.StateFile`.
    """


# -- Web: called when a facade's ASGI app is built (``Pstt.asgi_app()``).

@hookspec
def register_routes(register: Callable[[BaseRoute], None], env: PluginEnv, pstt: Pstt) -> None:
    """Add HTTP routes and pages to the web app.

    Called when the ASGI app is built (``Pstt.asgi_app()``).

    :param register: call it with a Starlette route (``Route``, ``Mount`` …). Paths that
        collide with core paths or an earlier plugin's are refused.
    :param env: the plugin's environment, for handlers that need settings or state.
    :param pstt: the facade (deprecated for plugins: use ``env``).
    """


@hookspec
def register_nav_links(register: Callable[[NavLink], None]) -> None:
    """Add entries to the menu shown on every page.

    Called when the ASGI app is built. A second link to a path already in the menu is refused.

    :param register: call it with a :class:`pstt_core.web.NavLink`.
    """


@hookspec
def register_template_dirs(register: Callable[[PathLike], None]) -> None:
    """Add Jinja2 template directories (plugin pages extend the core ``base.html``).

    Called when the ASGI app is built. Directories are searched core first, then in
    registration order, so a plugin cannot replace a template found earlier.

    :param register: call it with a directory path (``pathlib.Path`` or ``str``).
    """


@hookspec
def register_static_dirs(register: Callable[[str, PathLike], None]) -> None:
    """Serve a directory of static files under ``/static/<name>/``.

    Called when the ASGI app is built.

    :param register: call it as ``register(name, directory)``.
    """


@hookspec
def register_metrics(register: Callable[[Collector], None], env: PluginEnv, pstt: Pstt) -> None:
    """Contribute Prometheus collectors exposed at ``/metrics``.

    Called when the metrics registry of a facade's app is built.

    :param register: call it with a ``prometheus_client`` collector.
    :param env: the plugin's environment, whose state the collector reports.
    :param pstt: the facade (deprecated for plugins: use ``env``).
    """


# -- Command line: called once when the ``pstt`` CLI is built, before the command line is
# -- parsed (no home is open yet).

@hookspec
def register_commands(cli: click.Group, get_env: Callable[[], PluginEnv]) -> None:
    """Add sub-commands to the ``pstt`` command line (e.g. ``pstt kafka bench``).

    Called once when the CLI is built. A command named like an existing one is ignored.

    :param cli: the root click group; add commands or groups with ``cli.add_command``.
    :param get_env: call it inside a command to get the plugin's environment for the home
        given with ``--home``; the facade behind it is closed when the command ends.
    """


# -- Runtime: called while a facade runs.

@hookspec
def pstt_startup(env: PluginEnv, pstt: Pstt) -> None:
    """Called when a facade starts (``Pstt.start()``: the service, ``pstt run``).

    Long-lived resources may be opened here or lazily with ``env.state.resource(...)``;
    either way ``Pstt.close()`` closes what ``env.state.resource`` holds.

    :param env: the plugin's environment.
    :param pstt: the facade being started (deprecated for plugins: use ``env``).
    """


@hookspec
def pstt_shutdown(env: PluginEnv, pstt: Pstt) -> None:
    """Called when a started facade stops (``Pstt.stop()``, ``Pstt.close()``), after the
    scheduler stopped and running jobs finished; resources held by ``env.state`` are closed
    right after.

    :param env: the plugin's environment.
    :param pstt: the facade being stopped (deprecated for plugins: use ``env``).
    """


@hookspec
def schedule_stale(schedule: Schedule, stale: dict[str, Any], env: PluginEnv, pstt: Pstt) -> None:
    """A schedule has just become stale: its last successful run is older than its
    ``max_staleness_sec``.

    Called once per stale period (not again until the schedule has succeeded), by the
    scheduler's staleness watchdog of ``pstt serve`` (every ``PSTT_STALENESS_CHECK_SEC``
    seconds). An exception raised here is logged and changes nothing.

    :param schedule: the stale schedule.
    :param stale: ``{"since", "last_success_at", "max_staleness_sec"}`` (ISO times in UTC;
        ``last_success_at`` is ``None`` when it never succeeded).
    :param env: the plugin's environment.
    :param pstt: the facade (deprecated for plugins: use ``env``).
    """


@hookspec
def run_finished(record: RunRecord, schedule: Schedule, env: PluginEnv, pstt: Pstt) -> None:
    """Observe a finished run (any sharing mode, any outcome).

    Called after the history record is written and metrics are updated — never before: a
    record the history could not take at once, and the ``interrupted`` record of a process
    that ended mid-run, are observed when the run journal adds them to the history (at the
    next run or start-up, possibly in another process). An exception raised here is logged
    and never changes the run's outcome.

    :param record: the run record, as written to history.
    :param schedule: the schedule that ran.
    :param env: the plugin's environment.
    :param pstt: the facade (deprecated for plugins: use ``env``).
    """
