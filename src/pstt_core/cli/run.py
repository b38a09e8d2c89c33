"""``pstt run <schedule-id>``: one run now; exit 0 only on success."""

from __future__ import annotations

import sys
from typing import Any

import click

from .context import EXIT_FAILED, EXIT_OK, echo_json, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(run_cmd)


@click.command("run")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on when stderr is a terminal).")
def run_cmd(schedule_id: str, as_json: bool, progress: bool | None) -> None:
    """Run SCHEDULE_ID now and print its outcome."""
    pstt = get_pstt(logs=True)
    show = sys.stderr.isatty() if progress is None else progress
    pstt.start(scheduler=False)
    try:
        if show:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                          TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                          transient=True) as bar:
                task = bar.add_task(schedule_id, total=None)
                record = pstt.run(schedule_id, progress=lambda n: bar.update(task, completed=n))
        else:
            record = pstt.run(schedule_id)
    finally:
        pstt.stop()
    if as_json:
        echo_json(record.to_dict())
    else:
        click.echo(outcome_line(record.to_dict()))
        if record.error:
            click.echo(f"error: {record.error}", err=True)
    sys.exit(EXIT_OK if record.status == "success" else EXIT_FAILED)


def outcome_line(data: dict[str, Any]) -> str:
    """``failed: 200 rows read, 0 delivered in 1.20 s → orders (export_id …)``: what was read
    from the database and what reached the destination are two numbers."""
    delivered = data.get("rows_delivered")
    where = data.get("path") or data.get("kafka_topic") or data.get("recipients") or ""
    return (f"{data['status']}: {data.get('rows') or 0:,} rows read, "
            + ("delivery not known" if delivered is None else f"{delivered:,} delivered")
            + f" in {data.get('duration_sec') or 0:.2f} s" + (f" → {where}" if where else "")
            + f" (export_id {data['export_id']})")
