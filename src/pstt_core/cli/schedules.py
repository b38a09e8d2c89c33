"""``pstt schedules list``."""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime

import click

from ..scheduler import next_runs
from .context import get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(schedules_group)


@click.group("schedules")
def schedules_group() -> None:
    """Inspect schedules."""


@schedules_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json: bool) -> None:
    """List schedules with trigger, sharing mode and last outcome."""
    pstt = get_pstt()
    valid, invalid = pstt.schedules.load()
    last = pstt.history.last(valid)
    rows = [{"id": s.id, "name": s.name, "enabled": s.enabled, "trigger": s.trigger.describe(),
             "sharing_mode": s.sharing_mode, "last_status": last.get(s.id, {}).get("status"),
             "last_run": last.get(s.id, {}).get("started_at")} for s in valid.values()]
    if as_json:
        click.echo(json.dumps({"schedules": rows,
                               "invalid": {k: str(v) for k, v in invalid.items()}}, indent=2))
        return
    for r in rows:
        flag = "on " if r["enabled"] else "off"
        click.echo(f"{flag} {r['id']:<28} {r['sharing_mode']:<11} {r['trigger']:<22} "
                   f"{r['last_status'] or '-'}")
    for key, err in invalid.items():
        click.echo(f"INVALID {key}: {err}")


@schedules_group.command("next")
@click.argument("schedule_id")
@click.option("--after", "after", default=None, metavar="ISO-TIME",
              help="Start from this time (ISO 8601; without an offset: the schedule's zone). "
                   "Default: now.")
@click.option("--count", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON list of ISO-8601 times.")
def next_cmd(schedule_id: str, after: str | None, count: int, as_json: bool) -> None:
    """The next fire times of SCHEDULE_ID, in its time zone (enabled or not)."""
    pstt = get_pstt()
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
    times = next_runs(sched, after=start, count=count)
    if as_json:
        click.echo(json.dumps([t.isoformat() for t in times]))
        return
    for t in times:
        click.echo(f"{t.isoformat()}  {t.strftime('%a %Z')}")
