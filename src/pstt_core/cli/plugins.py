"""``pstt plugins``: loaded plugins, sharing modes and formats."""

from __future__ import annotations

import click

from .context import echo_json, get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(plugins_cmd)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True)
def plugins_cmd(as_json: bool) -> None:
    """List plugins, the sharing modes they provide and whether each is available."""
    pstt = get_pstt(lenient_env=True)
    pstt.asgi_app()  # web contributions are collected (and their problems found) here
    plugins = [p.to_dict() for p in pstt.plugins()]
    sinks = [{"name": st.name, "plugin": pstt.registry.plugin_of("sink type", st.name),
              "available": st.available, "reason": st.unavailable_reason}
             for st in pstt.registry.sinks.values()]
    if as_json:
        echo_json({"plugins": plugins, "sinks": sinks, "problems": pstt.plugin_problems})
        return
    for p in plugins:
        state = "blocked" if p["blocked"] else ("error: " + p["error"] if p["error"] else "loaded")
        click.echo(f"{p['name']:<20} {p['version'] or '-':<14} {state}")
    click.echo("")
    click.echo("sharing modes:")
    for s in sinks:
        state = "available" if s["available"] else f"unavailable — {s['reason']}"
        click.echo(f"  {s['name']:<14} ({s['plugin']}) {state}")
    for problem in pstt.plugin_problems:
        click.echo(f"problem: {problem}")
