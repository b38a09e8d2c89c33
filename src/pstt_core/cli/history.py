"""``pstt history [ID]``: recent runs, newest first, as ``GET /api/history`` returns them."""

from __future__ import annotations

from typing import Any

import click

from ..models import FINISHED_STATUSES
from ..timefmt import format_time
from .context import echo_json, echo_table, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(history_cmd)


@click.command("history")
@click.argument("schedule_id", required=False)
@click.option("--status", type=click.Choice(FINISHED_STATUSES), help="Only runs with this status.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="How many runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print what GET /api/history returns.")
def history_cmd(schedule_id: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Recent runs (of SCHEDULE_ID, if given): status, rows read and delivered, details."""
    from ..web.data import history_view

    pstt = get_pstt(lenient_env=True)
    view = history_view(pstt, schedule_id=schedule_id, status=status, limit=limit)
    if as_json:
        echo_json(view)
        return
    if not view["runs"]:
        click.echo("no runs recorded" + (" for this filter" if schedule_id or status else ""))
        return
    fields = {name: st.history_fields for name, st in pstt.registry.sinks.items()}
    rows = [[format_time(r.get("started_at"), pstt.display_zone), str(r.get("schedule_id")),
             str(r.get("status")), str(r.get("sharing_mode")), f"{r.get('rows') or 0:,}",
             _delivered(r), _duration(r), _detail(r, fields.get(r.get("sharing_mode"), ()))]
            for r in view["runs"]]
    echo_table(["STARTED", "SCHEDULE", "STATUS", "MODE", "READ", "DELIVERED", "TIME", "DETAIL"],
               rows)
    if view["total"] > len(rows):
        click.echo(f"({len(rows)} of {view['total']} runs; --limit N shows more)")


def _delivered(record: dict[str, Any]) -> str:
    value = record.get("rows_delivered")
    return "-" if value is None else f"{value:,}"


def _duration(record: dict[str, Any]) -> str:
    value = record.get("duration_sec")
    return "-" if value is None else f"{value:.2f} s"


def _detail(record: dict[str, Any], fields: tuple[str, ...]) -> str:
    if record.get("error"):
        return str(record["error"]).splitlines()[0][:200]
    return " ".join(f"{f}={record[f]}" for f in fields if record.get(f) not in (None, ""))
