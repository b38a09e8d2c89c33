"""Failure notices for every sharing mode: a ``run_finished`` observer that e-mails a notice.

Who is told: ``PSTT_EMAIL_NOTIFY_TO`` (every schedule), plus a schedule's own list — the
e-mail sink option ``failure_notice_to``, or a top-level ``failure_notice_to`` field on a
schedule of any other sharing mode. The notice is sent directly over SMTP, not through a run,
so it can never trigger another notice; any failure is logged and changes nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from email.headerregistry import Address
from typing import Any

from pstt_core import ConfigError, NotFoundError, PluginEnv, RunRecord, Schedule

from . import notice_state
from .addresses import envelope, parse_address, split_setting
from .failures import SmtpFailure
from .servers import SECTION, SmtpServer, get_server

log = logging.getLogger("pstt.email.notices")
NOTIFY_STATUSES = ("failed", "partial", "interrupted")
_busy = threading.local()


def notice_recipients(schedule: Schedule, env: PluginEnv) -> list[Address]:
    """Configured recipients; an invalid one is logged and left out, never fatal."""
    sources: list[tuple[str, list[str]]] = [
        ("PSTT_EMAIL_NOTIFY_TO", split_setting(env.settings["PSTT_EMAIL_NOTIFY_TO"] or ""))]
    own = {"sink_options.failure_notice_to": schedule.sink_options.get("failure_notice_to")
           if schedule.sharing_mode == "email" else None,
           "failure_notice_to": schedule.extra.get("failure_notice_to")}
    for field, value in own.items():
        if value:
            sources.append((f"schedule {schedule.id} {field}",
                            split_setting(value) if isinstance(value, str) else list(value)))
    out: list[Address] = []
    for where, values in sources:
        for i, value in enumerate(values):
            try:
                out.append(parse_address(value, f"{where}[{i}]"))
            except ConfigError as exc:
                log.error("failure notice: skipping an invalid address: %s", exc)
    return out


def notice_server(schedule: Schedule, env: PluginEnv) -> SmtpServer | None:
    name = env.settings["PSTT_EMAIL_NOTIFY_SERVER"] or (
        schedule.sink_options.get("server") if schedule.sharing_mode == "email" else None)
    if not name:
        servers = env.section(SECTION)
        if len(servers) != 1:
            log.error("failure notice for schedule %s not sent: set PSTT_EMAIL_NOTIFY_SERVER to one "
                      "of the %d SMTP servers in connections.json (%s)", schedule.id,
                      len(servers), SECTION)
            return None
        name = next(iter(servers))
    try:
        return get_server(env, str(name))
    except NotFoundError as exc:
        log.error("failure notice for schedule %s not sent: %s", schedule.id, exc)
        return None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def notice_text(record: RunRecord, schedule: Schedule, *, missed: int = 0,
                recovered_after: int = 0, public_url: str = "") -> tuple[str, str]:
    """Subject and body of a failure notice, or of a recovery notice (``recovered_after``:
    the failures before this success)."""
    name = _one_line(schedule.name)
    if recovered_after:
        subject = f"[PSTT] recovered: {name} ({schedule.id})"
        head = [f"Schedule \"{schedule.name}\" ({schedule.id}) succeeded again after "
                f"{recovered_after} failed run(s).", ""]
    else:
        subject = f"[PSTT] run {record.status}: {name} ({schedule.id})"
        head = [f"The run of schedule \"{schedule.name}\" ({schedule.id}) {record.status}.", ""]
        if missed:
            head += [f"{missed} more failure(s) of this schedule since the last notice "
                     "(notices are rate-limited: PSTT_EMAIL_NOTIFY_INTERVAL_SEC).", ""]
    lines = [*head,
             f"Sharing mode: {record.sharing_mode}", f"Status:       {record.status}",
             f"Started:      {record.started_at}", f"Finished:     {record.finished_at}",
             f"Rows:         {record.rows}", f"Export id:    {record.export_id}",
             f"Trigger:      {record.trigger}", ""]
    if public_url:
        base = public_url.rstrip("/")
        lines += [f"Run:          {base}/api/runs/{record.export_id}",
                  f"History:      {base}/history?schedule_id={schedule.id}", ""]
    if not recovered_after:
        lines += ["Error:", record.error or "(no error text)", ""]
    return subject, "\n".join(lines)


def stale_text(schedule: Schedule, stale: dict[str, Any], public_url: str) -> tuple[str, str]:
    subject = f"[PSTT] stale: {_one_line(schedule.name)} ({schedule.id})"
    last = stale.get("last_success_at") or "never (since the schedule was created)"
    lines = [f"Schedule \"{schedule.name}\" ({schedule.id}) has not delivered for longer than "
             f"its max_staleness_sec ({stale.get('max_staleness_sec')} s).", "",
             f"Sharing mode: {schedule.sharing_mode}", f"Last success: {last}",
             f"Stale since:  {stale.get('since')}", ""]
    if public_url:
        lines += [f"History:      {public_url.rstrip('/')}/history?schedule_id={schedule.id}", ""]
    return subject, "\n".join(lines)


def send_notice(record: RunRecord | None, schedule: Schedule, env: PluginEnv, *, missed: int = 0,
                recovered_after: int = 0, stale: dict[str, Any] | None = None) -> list[str]:
    """E-mail the notice of ``record`` (or, with ``stale``, of a stale schedule); returns the
    addresses it was delivered to."""
    recipients = notice_recipients(schedule, env)
    if not recipients:
        return []
    if importlib.util.find_spec("aiosmtplib") is None:
        log.error("failure notice for schedule %s not sent: aiosmtplib is missing; install with: "
                  'pip install "pstt[email]"', schedule.id)
        return []
    server = notice_server(schedule, env)
    if server is None:
        return []
    sender = server.sender()
    public_url = str(env.settings.get("PSTT_PUBLIC_URL") or "")
    if record is None:
        subject, body = stale_text(schedule, stale or {}, public_url)
        kind, export_id = "stale", None
    else:
        subject, body = notice_text(record, schedule, missed=missed,
                                    recovered_after=recovered_after, public_url=public_url)
        kind = "recovered" if recovered_after else "run-" + record.status
        export_id = record.export_id
    # the message and SMTP modules (asyncio, html) only when a notice is sent
    from .message import new_message, set_body, to_bytes
    from .smtp import deliver

    msg = new_message(sender=sender, to=recipients, subject=subject, export_id=export_id)
    msg["X-PSTT-Notice"] = kind
    set_body(msg, body, None)
    retries = min(int(env.settings["PSTT_EMAIL_RETRIES"]), 1)
    delivery = deliver(server, sender.addr_spec, envelope(recipients), to_bytes(msg),
                       retries=retries, backoff=float(env.settings["PSTT_EMAIL_RETRY_BACKOFF_SEC"]))
    return delivery.delivered


def on_run_finished(record: RunRecord, schedule: Schedule, env: PluginEnv) -> None:
    if record.status == "success":
        failures = notice_state.recovered(env, schedule.id)
        if failures:
            _notify(record, schedule, env, recovered_after=failures)
        return
    if record.status not in NOTIFY_STATUSES:
        return
    if record.status == "partial" and not env.settings["PSTT_EMAIL_NOTIFY_PARTIAL"]:
        return
    interval = float(env.settings.get("PSTT_EMAIL_NOTIFY_INTERVAL_SEC", 3600.0))
    due, missed = notice_state.failed(env, schedule.id, interval)
    if due:
        if _notify(record, schedule, env, missed=missed):
            notice_state.delivered(env, schedule.id)
        else:
            notice_state.held_back(env, schedule.id)
    else:
        log.info("failure notice for run %s held back (rate limit: one per %g s per schedule)",
                 record.export_id, interval)


def on_schedule_stale(schedule: Schedule, stale: dict[str, Any], env: PluginEnv) -> None:
    """The staleness watchdog found ``schedule`` stale: one notice (the watchdog calls this
    once per stale period)."""
    try:
        sent = send_notice(None, schedule, env, stale=stale)
        if sent:
            log.info("stale notice for schedule %s sent to %s", schedule.id, ", ".join(sent))
    except (SmtpFailure, ConfigError) as exc:
        log.error("stale notice for schedule %s not sent: %s", schedule.id, exc)
    except Exception:
        log.exception("stale notice for schedule %s not sent", schedule.id)


def _notify(record: RunRecord, schedule: Schedule, env: PluginEnv, **kind: int) -> bool:
    """Send one notice; true when at least one recipient accepted it."""
    if getattr(_busy, "active", False):  # belt and braces: never notify about a notice
        return False
    _busy.active = True
    sent: list[str] = []
    what = "recovery" if kind.get("recovered_after") else "failure"
    try:
        sent = send_notice(record, schedule, env, missed=kind.get("missed", 0),
                           recovered_after=kind.get("recovered_after", 0))
        if sent:
            log.info("%s notice for run %s sent to %s", what, record.export_id, ", ".join(sent))
    except (SmtpFailure, ConfigError) as exc:
        log.error("%s notice for run %s not sent: %s", what, record.export_id, exc)
    except Exception:
        log.exception("%s notice for run %s not sent", what, record.export_id)
    finally:
        _busy.active = False
    return bool(sent)


def check_notice_config(env: PluginEnv) -> list[str]:
    """Problems with the notice settings (for the health check)."""
    problems = []
    for i, value in enumerate(split_setting(env.settings["PSTT_EMAIL_NOTIFY_TO"] or "")):
        try:
            parse_address(value, f"PSTT_EMAIL_NOTIFY_TO[{i}]")
        except ConfigError as exc:
            problems.append(str(exc))
    name = env.settings["PSTT_EMAIL_NOTIFY_SERVER"]
    if name and name not in env.section(SECTION):
        problems.append(f"PSTT_EMAIL_NOTIFY_SERVER: unknown SMTP server {name!r}")
    return problems
