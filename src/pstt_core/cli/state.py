"""``pstt state``: the state of a home (``repair`` a damaged file, ``upgrade`` the tables
of the SQL state backend)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError, NotFoundError
from ..state import read_state
from .context import get_pstt

if TYPE_CHECKING:
    from ..facade import Pstt

def add_to(cli: click.Group) -> None:
    cli.add_command(state_group)


@click.group("state")
def state_group() -> None:
    """Inspect and repair the home's state files."""


def _resolve(pstt: Pstt, name: str) -> Path:
    """``name`` as given, else in the home, else in ``exports/``."""
    home = pstt.home
    for candidate in (Path(name), home.root / name, home.exports / name):
        if candidate.is_file():
            return candidate.resolve()
    raise NotFoundError(f"no state file {name!r} (looked in the current directory, "
                        f"{home.root} and {home.exports})")


def _problem(pstt: Pstt, path: Path) -> ConfigError | None:
    """What is wrong with ``path``: the core's own check for its files, else JSON syntax."""
    for exc in pstt.state_problems():
        if exc.file and Path(exc.file).resolve() == path:
            return exc
    try:
        read_state(path, None)
    except ConfigError as exc:
        return exc
    return None


@state_group.command("upgrade")
def upgrade_cmd() -> None:
    """Create or upgrade the tables of the state database (PSTT_STATE_URL).

    Run it once per PSTT upgrade, from any one instance, before starting the new version
    (`pstt serve` refuses a database whose schema is older or newer than it expects)."""
    pstt = get_pstt(lenient_env=True)
    backend = pstt.backend
    if backend.name != "sql":
        click.echo(f"PSTT_STATE_URL is not set: the state is in the home's files "
                   f"({backend.describe()}); nothing to upgrade")
        return
    from ..sql_state import schema

    try:
        before, after = schema.upgrade(backend.engine)  # type: ignore[union-attr]
    except Exception as exc:
        raise ConfigError(f"could not upgrade the state database {backend.describe()}: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    if before == after:
        click.echo(f"{backend.describe()}: schema {after} is current; nothing to do")
    else:
        click.echo(f"{backend.describe()}: schema {before or '(none)'} → {after}")


@state_group.command("migrate")
@click.option("--to", "url", required=True, metavar="URL",
              help="The state database (postgresql+psycopg://… or sqlite:///path).")
def migrate_cmd(url: str) -> None:
    """Copy this home's schedules, watermarks, history and plugin state files into the
    state database at URL.

    Creates or upgrades its tables first. Idempotent: records already in the database (same
    export_id), and schedules, watermarks and plugin documents it already has, are kept; the
    files are left in place.
    Counters need no copy: the database computes them from the records. Then set
    PSTT_STATE_URL=URL."""
    from ..backend import FilesBackend
    from ..sql_state import SqlBackend
    from ..sql_state.transfer import migrate

    pstt = get_pstt(lenient_env=True)
    files = FilesBackend(pstt.home, max_records=pstt.settings["PSTT_HISTORY_MAX_RECORDS"],
                         instance=lambda: pstt.instance, document_files=pstt.document_files,
                         validators=pstt.document_validators)
    sql = SqlBackend(url, instance=lambda: pstt.instance, validators=pstt.document_validators)
    try:
        result = migrate(files, sql, pstt.hooks.names())
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"could not migrate to {sql.describe()}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0]}") from None
    finally:
        sql.close()
    click.echo(f"{result['records']} record(s) in {files.history.location}; "
               f"{result['records_added']} added to {sql.describe()} "
               f"({result['records_in_database']} there now, every one of the home's found)")
    click.echo("schedules and watermarks copied: " + (", ".join(result["core_copied"]) or "none"))
    click.echo("plugin documents copied: " + (", ".join(result["documents_copied"]) or "none"))


@state_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_cmd(directory: Path) -> None:
    """Write the state (schedules, watermarks, history, counters, plugin documents) as the
    files backend's files into DIRECTORY — e.g. a home's exports/ to go back to the files backend."""
    from ..sql_state.transfer import export

    pstt = get_pstt(lenient_env=True)
    result = export(pstt.backend, directory, pstt.hooks.names(), pstt.document_files)
    click.echo(f"wrote the schedules, the watermarks, {result['records']} record(s), the counters and "
               f"{len(result['documents'])} plugin document(s) to {directory}")


@state_group.command("repair")
@click.argument("file")
@click.option("--force", is_flag=True, help="Move the file aside even if it reads correctly.")
def repair_cmd(file: str, force: bool) -> None:
    """Move a damaged state FILE aside (FILE.damaged-<time>) so that PSTT starts it afresh.

    Nothing is deleted: the damaged file keeps its content for a person to look at. Run
    records kept in the run journal meanwhile are added to the new history at the next
    start (`pstt check`, `pstt run`, `pstt serve`)."""
    pstt = get_pstt()
    path = _resolve(pstt, file)
    problem = _problem(pstt, path)
    if problem is None and not force:
        click.echo(f"{path} reads correctly; nothing to repair (use --force to start it "
                   "afresh anyway)")
        return
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    if problem is not None:
        click.echo(f"problem: {problem.message}" + (f" at {problem.path}" if problem.path else ""))
    click.echo(f"moved {path} to {aside}; PSTT starts {path.name} afresh")
    added = pstt.recover_runs()
    if added:
        click.echo(f"added {len(added)} record(s) kept in the run journal to the history")
