"""``pstt run <schedule-id>``: one run now; exit 0 only on success."""

from __future__ import annotations

import json
import sys

import click

from .context import EXIT_FAILED, EXIT_OK, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(run_cmd)


@click.command("run")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on when stderr is a terminal).")
def run_cmd(schedule_id: str, as_json: bool, progress: bool | None) -> None:
    """Run SCHEDULE_ID now and print its outcome."""
    pstt = get_pstt()
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
    data = record.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        where = data.get("path") or data.get("kafka_topic") or data.get("recipients") or ""
        click.echo(f"{record.status}: {record.rows:,} rows in {record.duration_sec:.2f} s"
                   + (f" → {where}" if where else "") + f" (export_id {record.export_id})")
        if record.error:
            click.echo(f"error: {record.error}", err=True)
    sys.exit(EXIT_OK if record.status == "success" else EXIT_FAILED)
