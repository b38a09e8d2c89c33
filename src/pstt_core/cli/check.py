"""``pstt check``: validate configuration and schedules, test connections."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import ConfigError, StateFileError
from .context import EXIT_FAILED, EXIT_OK, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(check_cmd)


@click.command("check")
@click.option("--offline", is_flag=True, help="Validate files only; do not contact databases or brokers.")
def check_cmd(offline: bool) -> None:
    """Exit 0 when every file is valid and every connection answers."""
    pstt = get_pstt()
    problems = 0
    click.echo(f"home: {pstt.home.root}")
    click.echo(f"connections.json: {len(pstt.config.databases)} database(s)")
    for problem in pstt.registry.problems:
        click.echo(f"  plugin problem: {problem}")
        problems += 1
    for added in pstt.recover_runs():
        click.echo(f"  recovered run {added.export_id} of {added.schedule_id}: {added.status}"
                   + (f" ({added.error})" if added.error else ""))
    for state_error in pstt.state_problems():
        click.echo(f"  ✗ state file {state_error}")
        problems += 1
    try:  # the plugins' start-up checks their own files (kafka_metrics.json …)
        pstt.start(scheduler=False)
    except StateFileError as exc:
        click.echo(f"  ✗ state file {exc}")
        problems += 1
    except ConfigError:
        pass  # a core file, reported above
    finally:
        pstt.stop()
    for kept in _kept(pstt):
        click.echo(f"  ✗ run {kept['export_id']} of {kept['schedule_id']} ({kept['status']}) is "
                   f"not in the history yet: kept in {kept['kept_at']} ({kept['reason']})")
        problems += 1
    try:
        valid, invalid = pstt.schedules.load()
    except ConfigError:  # reported above
        valid, invalid = {}, {}
    click.echo(f"schedules.json: {len(valid)} valid, {len(invalid)} invalid")
    for key, err in invalid.items():
        click.echo(f"  ✗ {key}: {err}")
        problems += 1
    for sched in valid.values():
        try:
            pstt.registry.sink(sched.sharing_mode)
        except Exception as exc:
            click.echo(f"  ✗ {sched.id}: {exc}")
            problems += 1
    if not offline:
        result = pstt.health()
        for check in result["checks"]:
            if check["name"] == "scheduler":  # not running here; its schedules are listed above
                continue
            mark = "✓" if check["status"] in ("healthy", "not_configured") else "✗"
            click.echo(f"  {mark} {check['name']}: {check['status']} {check['detail']}")
            if mark == "✗":
                problems += 1
    click.echo("OK" if not problems else f"{problems} problem(s)")
    sys.exit(EXIT_OK if not problems else EXIT_FAILED)


def _kept(pstt: Any) -> list[dict[str, Any]]:
    return pstt.journal.kept()
