"""``pstt settings``: effective settings (secrets masked), or the documentation table."""

from __future__ import annotations

from collections.abc import Mapping

import click

from ..settings import Setting
from .context import echo_json, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(settings_cmd)


@click.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--markdown", is_flag=True, help="Print the documentation table (defaults, not values).")
def settings_cmd(as_json: bool, markdown: bool) -> None:
    """Show every PSTT_* / plugin setting with its value and where it came from."""
    if markdown:  # the defaults of the installed plugins: needs no home
        from ..plugins import Plugins, disabled_from_env
        from ..registry import Registry

        click.echo(settings_table(Registry(Plugins(disabled_from_env())).settings))
        return
    pstt = get_pstt(lenient_env=True)
    rows = pstt.settings.masked()
    if as_json:
        echo_json(rows)
    else:
        for r in rows:
            click.echo(f"{r['name']:<40} {str(r['value']):<24} ({r['source']})")


def settings_table(specs: Mapping[str, Setting]) -> str:
    """One Markdown table per group: variable, default, allowed values, description."""
    groups: dict[str, list[str]] = {}
    for spec in specs.values():
        allowed = ", ".join(spec.choices) if spec.choices else _range(spec)
        default = "" if spec.secret else spec.default
        if isinstance(default, bool):
            default = str(default).lower()
        groups.setdefault(spec.group, []).append(
            f"| `{spec.name}` | {f'`{default}`' if default != '' else '(empty)'} | {allowed} | "
            f"{spec.description} |")
    out = []
    for group, lines in sorted(groups.items(), key=lambda g: (g[0] != "core", g[0])):
        out.append(f"### {group}\n\n| Variable | Default | Allowed | Description |\n|---|---|---|---|")
        out.extend(lines)
        out.append("")
    return "\n".join(out)


def _range(spec: object) -> str:
    kind = getattr(spec, "type", str)
    name = {int: "integer", float: "number", bool: "true/false", str: "text"}.get(kind, str(kind))
    lo, hi = getattr(spec, "minimum", None), getattr(spec, "maximum", None)
    if lo is not None and hi is not None:
        return f"{name} {lo:g}–{hi:g}"
    if lo is not None:
        return f"{name} ≥ {lo:g}"
    return name
