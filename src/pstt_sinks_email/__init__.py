"""Sharing mode ``email``: the result as an attachment sent over SMTP (a PSTT plugin).

Everything reaches the core through hooks: the sink, the ``smtp_servers`` section of
``connections.json`` (with a connection test), ``PSTT_EMAIL_*`` settings, a health check, the
``pstt email`` commands and a ``run_finished`` observer that e-mails failure notices for
every sharing mode. aiosmtplib is imported only when mail is sent, so the plugin loads (and
the mode is listed as unavailable) without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pstt_core import (
    ConfigSection,
    HealthCheck,
    HealthResult,
    PluginEnv,
    RunRecord,
    Schedule,
    Setting,
    SinkType,
    hookimpl,
)

from .notices import check_notice_config, on_run_finished, on_schedule_stale
from .options import EmailOptions, validate_options
from .servers import SECTION, SMTP_SECTION

if TYPE_CHECKING:
    import click

    from pstt_core import Sink, SinkContext


def _sink_factory(ctx: SinkContext) -> Sink:
    # the message, template and SMTP modules are loaded by the runs that send e-mail
    from .sink import EmailSink

    return EmailSink(ctx)


SINK = SinkType(
    name="email",
    label="E-mail (SMTP)",
    options=EmailOptions,
    factory=_sink_factory,
    description="Sends the result as a CSV/XLSX attachment (zipped when large) to e-mail "
                "recipients, with an optional HTML preview of the first rows.",
    requires=("aiosmtplib",),
    install_hint='pip install "pstt[email]"',
    validate=validate_options,
    history_fields=("recipients", "attachment_bytes", "attachment_name", "message_id",
                    "email_server"),
)

SETTINGS = (
    Setting("PSTT_EMAIL_RETRIES", int, 3, "Extra attempts after a transient SMTP failure (4xx "
            "reply, connection lost, timeout). Permanent failures are never retried.",
            minimum=0, maximum=10, group="email"),
    Setting("PSTT_EMAIL_RETRY_BACKOFF_SEC", float, 2.0, "First wait before a retry; doubled "
            "for each further attempt (at most 60 s).", minimum=0, maximum=600, group="email"),
    Setting("PSTT_EMAIL_NOTIFY_TO", str, "", "Comma-separated addresses told by e-mail when any "
            "schedule's run fails (any sharing mode). Empty: only per-schedule lists.",
            group="email"),
    Setting("PSTT_EMAIL_NOTIFY_SERVER", str, "", "SMTP server (smtp_servers name) for failure "
            "notices. Empty: the e-mail schedule's own server, else the only configured one.",
            group="email"),
    Setting("PSTT_EMAIL_NOTIFY_PARTIAL", bool, True, "Also send a notice when a run is partial "
            "(some rows or recipients not delivered).", group="email"),
    Setting("PSTT_EMAIL_NOTIFY_INTERVAL_SEC", float, 3600.0, "Failure notices of one schedule: "
            "the first failure, then at most one per this many seconds (with the count of "
            "failures in between); a recovery notice follows the next success. 0: every "
            "failure.", minimum=0, maximum=604800, group="email"),
    Setting("PSTT_PUBLIC_URL", str, "", "Address users open PSTT at (e.g. https://pstt.example.com); "
            "notices then link to the run. Empty: no link.", group="email"),
)


@hookimpl
def register_sinks(register: Callable[[SinkType], None]) -> None:
    register(SINK)


@hookimpl
def register_config_sections(register: Callable[[ConfigSection], None]) -> None:
    register(SMTP_SECTION)


@hookimpl
def register_settings(register: Callable[[Setting], None]) -> None:
    for setting in SETTINGS:
        register(setting)


# Seconds a health check waits for each SMTP step (connect, EHLO, TLS, login).
PROBE_TIMEOUT_SEC = 5.0


def _health(env: PluginEnv) -> HealthResult:
    """Each server answers (connect, EHLO, TLS, login when credentials are set) and the
    failure-notice settings are valid."""
    servers = env.section(SECTION)
    problems = check_notice_config(env)
    data: dict[str, Any] = {"servers": sorted(servers), "available": SINK.available}
    if not servers:
        return HealthResult("not_configured", "no smtp_servers in connections.json", data)
    if not SINK.available:
        problems.insert(0, SINK.unavailable_reason or "aiosmtplib missing")
        return HealthResult("degraded", "; ".join(problems), data)
    from .smtp import probe

    results = [{"name": name, **probe(server, timeout=PROBE_TIMEOUT_SEC)}
               for name, server in sorted(servers.items())]
    data["connections"] = results
    down = [r for r in results if not r["success"]]
    problems[:0] = [f"{r['name']}: {r['error']}" for r in down]
    if len(down) == len(results):
        return HealthResult("unhealthy", "; ".join(problems), data)
    if problems:
        return HealthResult("degraded", "; ".join(problems), data)
    return HealthResult("healthy", f"{len(results)} SMTP server(s) answering", data)


@hookimpl
def register_health_checks(register: Callable[[HealthCheck], None]) -> None:
    register(HealthCheck("email", _health, "Each SMTP server answers EHLO (and accepts the "
                                           "login) and failure-notice settings are valid"))


@hookimpl
def register_commands(cli: click.Group, get_env: Callable[[], PluginEnv]) -> None:
    from .cli import email_group

    cli.add_command(email_group(get_env))


@hookimpl
def run_finished(record: RunRecord, schedule: Schedule, env: PluginEnv) -> None:
    on_run_finished(record, schedule, env)


@hookimpl
def schedule_stale(schedule: Schedule, stale: dict[str, Any], env: PluginEnv) -> None:
    on_schedule_stale(schedule, stale, env)
