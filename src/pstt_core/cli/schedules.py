"""``pstt schedules list``."""

from __future__ import annotations

import json

import click

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
