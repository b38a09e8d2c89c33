"""``pstt watermark show|set|reset ID``: the watermark of an incremental schedule."""

from __future__ import annotations

from typing import Any

import click

from .context import echo_json, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(watermark_group)


@click.group("watermark")
def watermark_group() -> None:
    """Show, set or reset the watermark of an incremental schedule."""


def describe(view: dict[str, Any]) -> str:
    """``orders-feed: ordered_at = 2026-01-21T08:00:00+00:00 (datetime), id = 42 (int) …``"""
    mark = view.get("watermark")
    cursor = view["column"] + (f" + {view['tiebreaker']}" if view.get("tiebreaker") else "")
    if mark is None:
        start = view.get("start")
        return (f"{view['schedule_id']}: no watermark on {cursor}; the next run starts "
                + (f"at {start}" if start is not None else "from the beginning"))
    text = f"{view['schedule_id']}: {view['column']} = {mark['value']} ({mark['type']})"
    if mark.get("tiebreaker_value") is not None:
        text += f", {view['tiebreaker']} = {mark['tiebreaker_value']} ({mark['tiebreaker_type']})"
    how = "set by hand" if view.get("source") == "set" else f"run {view.get('export_id')}"
    return text + f"; {how} at {view.get('updated_at')}"


@watermark_group.command("show")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True, help="Print GET /api/schedules/{id}/watermark.")
def show_cmd(schedule_id: str, as_json: bool) -> None:
    """The watermark of SCHEDULE_ID: the cursor of the last row it delivered."""
    view = get_pstt(lenient_env=True).watermark(schedule_id)
    echo_json(view) if as_json else click.echo(describe(view))


@watermark_group.command("set")
@click.argument("schedule_id")
@click.argument("value")
@click.option("--tiebreaker", "tiebreaker", metavar="VALUE",
              help="The tiebreaker's value (rows with the cursor at VALUE and a greater "
                   "tiebreaker come next).")
@click.option("--type", "kind", type=click.Choice(["datetime", "date", "int", "decimal",
                                                   "float", "text"]),
              help="The cursor's type (default: the current watermark's, else what VALUE "
                   "looks like).")
@click.option("--json", "as_json", is_flag=True, help="Print the new watermark as JSON.")
def set_cmd(schedule_id: str, value: str, tiebreaker: str | None, kind: str | None,
            as_json: bool) -> None:
    """Put the watermark of SCHEDULE_ID at VALUE: the next run delivers the rows after it."""
    data: dict[str, Any] = {"value": value}
    if kind:
        data["type"] = kind
    if tiebreaker is not None:
        data["tiebreaker_value"] = tiebreaker
    view = get_pstt(lenient_env=True).set_watermark(schedule_id, data)
    echo_json(view) if as_json else click.echo(describe(view))


@watermark_group.command("reset")
@click.argument("schedule_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def reset_cmd(schedule_id: str, as_json: bool) -> None:
    """Forget the watermark of SCHEDULE_ID: the next run starts from its start again."""
    view = get_pstt(lenient_env=True).reset_watermark(schedule_id)
    if as_json:
        echo_json(view)
    else:
        click.echo(("reset; " if view["reset"] else "there was no watermark; ") + describe(view))
