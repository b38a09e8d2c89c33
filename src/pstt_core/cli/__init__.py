"""The ``pstt`` command line. Plugins add commands through ``register_commands(cli)``.

Exit codes: 0 success; 1 the job failed (run failed/partial, check found problems);
2 bad usage or configuration (unknown schedule, invalid file); 3 conflict (already running);
4 the run's record could not be written (kept in the run journal); 128 + N stopped by signal N.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

import click

from ..plugins import Plugins, disabled_from_env
from . import check, history, init, plugins, run, schedules, serve, settings, state, watermark
from .context import cli_errors, get_pstt


class PsttGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        with cli_errors():
            return super().invoke(ctx)


@click.group(cls=PsttGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), envvar="PSTT_HOME",
              help="Home directory (default: $PSTT_HOME, else the current directory).")
@click.version_option(package_name="pstt", prog_name="pstt")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """PSTT: run SQL queries on a schedule and ship the results."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


for module in (init, run, check, history, plugins, schedules, serve, settings, state,
               watermark):
    module.add_to(cli)

_CORE_COMMANDS = frozenset(cli.commands)
_plugins_added = False


def build_cli(*, reload: bool = False, disabled: Iterable[str] | None = None) -> click.Group:
    """Add plugin commands once; a clash with an earlier command or a failing hook is reported
    on stderr and never stops the CLI.

    :param reload: drop the plugin commands added before and ask the plugins again (after
        plugins were registered or unregistered at run time).
    :param disabled: plugins not to ask (default ``$PSTT_DISABLED_PLUGINS``).
    """
    global _plugins_added
    if _plugins_added and not reload:
        return cli
    for name in set(cli.commands) - _CORE_COMMANDS:
        del cli.commands[name]
    _plugins_added = True
    hooks = Plugins(disabled_from_env() if disabled is None else disabled)
    staged: dict[str, click.Group] = {}

    def kwargs_for(plugin: str) -> dict[str, Any]:
        staged[plugin] = click.Group()
        return {"cli": staged[plugin], "get_env": lambda: get_pstt().plugin_env(plugin)}

    failures = hooks.run("register_commands", kwargs_for)
    for failure in failures:
        click.echo(f"warning: {failure}; its commands are not added", err=True)
    failed = {f.plugin for f in failures}
    for plugin, staging in staged.items():  # registration order: the first command name wins
        if plugin in failed:
            continue
        for name, command in staging.commands.items():
            if name in cli.commands:
                click.echo(f"warning: plugin {plugin!r} command {name!r} clashes with "
                           "an existing command; ignored", err=True)
                continue
            cli.add_command(command, name)
    return cli


def _disabled_plugins(argv: list[str]) -> set[str]:
    """``PSTT_DISABLED_PLUGINS`` from the environment, else from the home's ``.env``.

    Read before the command line is parsed, so a blocked plugin never adds its commands.
    """
    from ..home import Home
    from ..settings import read_dotenv

    if "PSTT_DISABLED_PLUGINS" in os.environ:
        return disabled_from_env()
    home = None
    for i, arg in enumerate(argv):
        if arg == "--home" and i + 1 < len(argv):
            home = argv[i + 1]
            break
        if arg.startswith("--home="):
            home = arg.split("=", 1)[1]
            break
    dotenv = read_dotenv(Home.resolve(home).root)
    return disabled_from_env(dotenv.get("PSTT_DISABLED_PLUGINS") or "")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    build_cli(disabled=_disabled_plugins(args)).main(args=args, prog_name="pstt")
