"""``pstt run <schedule-id>``: one run now; exit 0 only on success."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConflictError, RecordNotWrittenError
from ..models import RunRecord
from ..signals import exit_code, stopping_runs_on_signals
from .context import EXIT_FAILED, EXIT_OK, EXIT_UNRECORDED, echo_json, get_pstt

if TYPE_CHECKING:
    from ..facade import Pstt
    from ..incremental import Window


def add_to(cli: click.Group) -> None:
    cli.add_command(run_cmd)


@click.command("run")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on when stderr is a terminal).")
@click.option("--from", "low", metavar="VALUE",
              help="Backfill an incremental schedule: the rows whose cursor is at or after "
                   "VALUE (the watermark does not move).")
@click.option("--to", "high", metavar="VALUE",
              help="Backfill: the rows whose cursor is before VALUE.")
def run_cmd(schedule_id: str, as_json: bool, progress: bool | None, low: str | None,
            high: str | None) -> None:
    """Run SCHEDULE_ID now and print its outcome.

    An incremental schedule delivers its next increment and moves its watermark when the run
    succeeds, as a scheduled run does; with --from/--to it exports that window of the cursor
    instead (recorded with trigger "backfill") and leaves the watermark alone.

    SIGTERM / Ctrl-C stop the run between batches: its record says ``interrupted`` with
    exact counts, and the exit code is 143 / 130."""
    pstt = get_pstt(logs=True)
    window = pstt.backfill_window(schedule_id, low, high) \
        if low is not None or high is not None else None
    show = sys.stderr.isatty() if progress is None else progress
    unrecorded: RecordNotWrittenError | None = None
    pstt.start(scheduler=False)
    try:
        with stopping_runs_on_signals(pstt) as received:
            try:
                record = _run(pstt, schedule_id, show, window)
            except RecordNotWrittenError as exc:
                record, unrecorded = exc.record, exc
            except ConflictError:
                if received:  # the signal came before the run began
                    sys.exit(exit_code(received[0]))
                raise
    finally:
        pstt.stop()
    _print(record, as_json, unrecorded)
    if unrecorded is not None:
        click.echo(f"error: {unrecorded}", err=True)
    if received:
        sys.exit(exit_code(received[0]))
    if unrecorded is not None:
        sys.exit(EXIT_UNRECORDED)
    sys.exit(EXIT_OK if record.status == "success" else EXIT_FAILED)


def _run(pstt: Pstt, schedule_id: str, show: bool, window: Window | None) -> RunRecord:
    if not show:
        return pstt.run(schedule_id, window=window)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                  TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task(schedule_id, total=None)
        return pstt.run(schedule_id, progress=lambda n: bar.update(task, completed=n),
                        window=window)


def _print(record: RunRecord, as_json: bool, unrecorded: RecordNotWrittenError | None) -> None:
    """The outcome; a record the history did not take is never shown as a plain success."""
    data = record.to_dict()
    if unrecorded is not None:
        data.update(recorded=False, kept_at=unrecorded.kept_at)
    if as_json:
        echo_json(data)
        return
    status = record.status if unrecorded is None else f"not recorded ({record.status})"
    click.echo(outcome_line({**data, "status": status}))
    if record.error:
        click.echo(f"error: {record.error}", err=True)


def outcome_line(data: dict[str, Any]) -> str:
    """``failed: 200 rows read, 0 delivered in 1.20 s → orders (export_id …)``: what was read
    from the database and what reached the destination are two numbers."""
    delivered = data.get("rows_delivered")
    where = data.get("path") or data.get("kafka_topic") or data.get("recipients") or ""
    return (f"{data['status']}: {data.get('rows') or 0:,} rows read, "
            + ("delivery not known" if delivered is None else f"{delivered:,} delivered")
            + f" in {data.get('duration_sec') or 0:.2f} s" + (f" → {where}" if where else "")
            + f" (export_id {data['export_id']})")
