"""``pstt schedules list|show|enable|disable``: the schedules, as the API shows them."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timezone
from typing import Any

import click

from ..timefmt import format_schedule_time, format_time
from .context import echo_json, echo_table, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(schedules_group)


@click.group("schedules")
def schedules_group() -> None:
    """List, show, enable and disable schedules."""


def _with_next_run(view: dict[str, Any], schedule: Any) -> dict[str, Any]:
    """The API's schedule shape; ``next_run`` from the trigger, since no scheduler runs in
    this process (``None`` for an interval, which counts from the service's start)."""
    from ..scheduler import next_fire_time

    if view.get("enabled") and view.get("next_run") is None:
        nxt = next_fire_time(schedule, datetime.now(timezone.utc))
        view["next_run"] = nxt.isoformat() if nxt else None
    return view


def _trigger_text(view: dict[str, Any]) -> str:
    trig = view["trigger"]
    if trig.get("type") == "cron":
        return f"cron {trig.get('expression')} {view.get('timezone')}"
    seconds = sum(int(trig.get(k) or 0) * n for k, n in
                  (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400)))
    return f"every {seconds} s"


def _last_text(last: dict[str, Any] | None, tz: Any) -> str:
    if not last:
        return "-"
    return f"{last.get('status')} {format_time(last.get('started_at'), tz)}"


@schedules_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print what GET /api/schedules returns.")
def list_cmd(as_json: bool) -> None:
    """Schedules with trigger, sharing mode, next run and last run; invalid ones after them."""
    from ..web.data import schedules_view

    pstt = get_pstt(lenient_env=True)
    view = schedules_view(pstt)
    valid = pstt.schedules.all()
    view["schedules"] = [_with_next_run(s, valid[s["id"]]) for s in view["schedules"]]
    if as_json:
        echo_json(view)
        return
    tz = pstt.display_zone
    rows = [[s["id"], "yes" if s["enabled"] else "no", s["sharing_mode"], _trigger_text(s),
             format_schedule_time(s["next_run"], tz, s["timezone"]) if s["next_run"] else "-",
             _last_text(s["last_run"], tz)] for s in view["schedules"]]
    if rows:
        echo_table(["ID", "ENABLED", "MODE", "TRIGGER", "NEXT RUN", "LAST RUN"], rows)
    else:
        click.echo("no valid schedules in exports/schedules.json")
    for bad in view["invalid"]:
        click.echo(f"INVALID {bad['id']}: {bad['path']}: {bad['error']}")


@schedules_group.command("show")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True,
              help="Print what GET /api/schedules/{id} returns.")
def show_cmd(schedule_id: str, as_json: bool) -> None:
    """One schedule: its definition, next run and last run."""
    from ..web.data import schedule_view

    pstt = get_pstt(lenient_env=True)
    view = _with_next_run(schedule_view(pstt, schedule_id), pstt.schedules.get(schedule_id))
    if as_json:
        echo_json(view)
        return
    tz = pstt.display_zone
    options = ", ".join(f"{k}={v}" for k, v in view["sink_options"].items()
                        if v not in (None, "", [], {}))
    lines = [("id", view["id"]), ("name", view["name"]), ("description", view["description"]),
             ("connection", view["connection"]), ("trigger", _trigger_text(view)),
             ("enabled", "yes" if view["enabled"] else "no"),
             ("sharing mode", view["sharing_mode"]), ("options", options),
             ("next run", format_schedule_time(view["next_run"], tz, view["timezone"])
              if view["next_run"] else "-"),
             ("last run", _last_text(view["last_run"], tz))]
    for label, value in lines:
        if value not in (None, ""):
            click.echo(f"{label + ':':<14}{value}")
    click.echo("query:")
    for line in view["query"].strip().splitlines():
        click.echo(f"  {line}")


def _set_enabled(schedule_id: str, enabled: bool) -> None:
    pstt = get_pstt()
    pstt.patch_schedule(schedule_id, {"enabled": enabled})
    click.echo(f"schedule {schedule_id} {'enabled' if enabled else 'disabled'} (a running "
               "service applies it within PSTT_SCHEDULES_RELOAD_SEC seconds)")


@schedules_group.command("enable")
@click.argument("schedule_id")
def enable_cmd(schedule_id: str) -> None:
    """Enable SCHEDULE_ID (as POST /api/schedules/{id}/enable)."""
    _set_enabled(schedule_id, True)


@schedules_group.command("disable")
@click.argument("schedule_id")
def disable_cmd(schedule_id: str) -> None:
    """Disable SCHEDULE_ID (as POST /api/schedules/{id}/disable)."""
    _set_enabled(schedule_id, False)


@schedules_group.command("next")
@click.argument("schedule_id")
@click.option("--after", "after", default=None, metavar="ISO-TIME",
              help="Start from this time (ISO 8601; without an offset: the schedule's zone). "
                   "Default: now.")
@click.option("--count", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON list of ISO-8601 times.")
def next_cmd(schedule_id: str, after: str | None, count: int, as_json: bool) -> None:
    """The next fire times of SCHEDULE_ID, in its time zone (enabled or not)."""
    pstt = get_pstt(lenient_env=True)
    sched = pstt.schedules.get(schedule_id)
    start = None
    if after:
        try:
            start = datetime.fromisoformat(after.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"{after!r} is not an ISO-8601 time, e.g. "
                                     "2026-10-25T00:00:00+02:00", param_hint="--after") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=zoneinfo.ZoneInfo(sched.timezone))
    from ..scheduler import next_runs  # APScheduler and SQLAlchemy: only for this command

    times = next_runs(sched, after=start, count=count)
    if as_json:
        echo_json([t.isoformat() for t in times])
        return
    for t in times:
        click.echo(f"{t.isoformat()}  {t.strftime('%a %Z')}")
