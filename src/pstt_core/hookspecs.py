"""The PSTT hook specification: everything a plugin can contribute.

Contribution hooks receive a ``register`` callback rather than returning values, so that
the core can validate each contribution, attribute it to its plugin and refuse duplicates
(see :mod:`pstt_core.registry`). Built-in sinks use exactly these hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from .facade import Pstt
    from .models import RunRecord, Schedule

hookspec = pluggy.HookspecMarker("pstt")
hookimpl = pluggy.HookimplMarker("pstt")


@hookspec
def register_sinks(register: Callable[[Any], None]) -> None:
    """Register sharing modes (sinks).

    Called once when the registry is built, before settings and configuration are read.

    :param register: call it with a :class:`pstt_core.sinks.SinkType` for each sharing mode
        the plugin provides. A name already taken by another plugin is refused and reported
        by ``pstt plugins``.
    """


@hookspec
def register_formats(register: Callable[[Any], None]) -> None:
    """Register output formats usable by every sink (``csv``, ``jsonl``, ``xlsx`` …).

    Called once when the registry is built.

    :param register: call it with a :class:`pstt_core.formats.OutputFormat`.
    """


@hookspec
def register_settings(register: Callable[[Any], None]) -> None:
    """Declare environment / ``.env`` settings (e.g. ``KAFKA_*``).

    Called once when the registry is built, before settings are loaded, so that every
    declared variable is parsed, validated and listed on the settings page.

    :param register: call it with a :class:`pstt_core.settings.Setting`.
    """


@hookspec
def register_config_sections(register: Callable[[Any], None]) -> None:
    """Claim a top-level section of ``connections.json`` (e.g. ``kafka_connections``).

    Called once when the registry is built. The core validates the claimed section with the
    section's model and makes the result available as ``pstt.config.section(name)``; an
    absent section yields an empty list.

    :param register: call it with a :class:`pstt_core.config.ConfigSection`.
    """


@hookspec
def register_routes(register: Callable[[Any], None], pstt: Pstt) -> None:
    """Add HTTP routes and pages to the web app.

    Called when the ASGI app is built (``Pstt.asgi_app()``).

    :param register: call it with a Starlette route (``Route``, ``Mount`` …). Paths that
        collide with core paths or another plugin's are refused.
    :param pstt: the running facade, for handlers that need state.
    """


@hookspec
def register_nav_links(register: Callable[[Any], None]) -> None:
    """Add entries to the menu shown on every page.

    Called when the ASGI app is built.

    :param register: call it with a :class:`pstt_core.web.nav.NavLink`.
    """


@hookspec
def register_template_dirs(register: Callable[[Any], None]) -> None:
    """Add Jinja2 template directories (plugin pages extend the core ``base.html``).

    Called when the ASGI app is built.

    :param register: call it with a directory path (``pathlib.Path`` or ``str``).
    """


@hookspec
def register_static_dirs(register: Callable[[str, Any], None]) -> None:
    """Serve a directory of static files under ``/static/<name>/``.

    Called when the ASGI app is built.

    :param register: call it as ``register(name, directory)``.
    """


@hookspec
def register_health_checks(register: Callable[[Any], None]) -> None:
    """Contribute health checks shown by ``GET /api/health``, ``/`` and ``pstt check``.

    Called once when the registry is built.

    :param register: call it with a :class:`pstt_core.health.HealthCheck`.
    """


@hookspec
def register_metrics(register: Callable[[Any], None], pstt: Pstt) -> None:
    """Contribute Prometheus collectors exposed at ``/metrics``.

    Called when the metrics registry of a facade is built.

    :param register: call it with a ``prometheus_client`` collector.
    :param pstt: the facade whose state the collector reports.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``pstt`` command line (e.g. ``pstt kafka bench``).

    Called once when the CLI is built.

    :param cli: the root click group; add commands or groups with ``cli.add_command``.
        Use :func:`pstt_core.cli.context.get_pstt` inside a command to reach the facade.
    """


@hookspec
def run_finished(record: RunRecord, schedule: Schedule, pstt: Pstt) -> None:
    """Observe a finished run (any sharing mode, any outcome).

    Called after the history record is written and metrics are updated — never before: a
    record the history could not take at once, and the ``interrupted`` record of a process
    that ended mid-run, are observed when the run journal adds them to the history (at the
    next run or start-up, possibly in another process). An exception raised here is logged
    and never changes the run's outcome.

    :param record: the run record, as written to history.
    :param schedule: the schedule that ran.
    :param pstt: the facade.
    """


@hookspec
def pstt_startup(pstt: Pstt) -> None:
    """Called when a facade starts (``Pstt.start()``, i.e. the service or the scheduler).

    Use it to open long-lived resources (producers, metrics files).

    :param pstt: the facade being started.
    """


@hookspec
def pstt_shutdown(pstt: Pstt) -> None:
    """Called when a facade stops: flush and close what ``pstt_startup`` opened.

    :param pstt: the facade being stopped.
    """
