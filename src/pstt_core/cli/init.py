"""``pstt init``: scaffold a home directory (``--demo``: SQLite demo data + a schedule)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ..home import Home
from ..state import atomic_write_json, read_json


def add_to(cli: click.Group) -> None:
    cli.add_command(init_cmd)


ENV_TEMPLATE = """\
# PSTT settings (all optional). See docs/README.md for the full table.
# PSTT_HOST=127.0.0.1
# PSTT_PORT=8000
# PSTT_API_TOKEN=
# PSTT_LOG_LEVEL=info
"""


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only (0600), whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


@click.command("init")
@click.option("--demo", is_flag=True, help="Add a SQLite demo database and a demo schedule.")
@click.option("--force", is_flag=True, help="Overwrite connections.json / schedules.json if present.")
@click.pass_context
def init_cmd(ctx: click.Context, demo: bool, force: bool) -> None:
    """Create connections.json, .env, exports/ and logs/ in the home directory."""
    home = Home.resolve(ctx.find_root().obj.get("home"))
    home.root.mkdir(parents=True, exist_ok=True)
    # exports hold query results and logs hold error texts: the service account's only
    home.exports.mkdir(mode=0o700, exist_ok=True)
    home.logs.mkdir(mode=0o700, exist_ok=True)
    created = []
    if demo:
        from ..demo import demo_connections, demo_schedules

        conns, scheds = demo_connections(), demo_schedules()
    else:
        conns = {"databases": []}
        scheds = {"schedules": []}
    # Read every existing file before changing anything: a corrupt one stops init untouched.
    writes = []
    for path, data in ((home.connections, conns), (home.schedules, scheds)):
        if path.exists() and not force:
            merged = _merged(path, data)
            if merged is not None:
                writes.append((path, merged))
            continue
        writes.append((path, data))
        created.append(str(path.relative_to(home.root)))
    if demo:
        from ..demo import create_demo_database

        db = home.root / "demo.db"
        if force or not db.exists():
            rows = create_demo_database(db)
            created.insert(0, f"demo.db ({rows:,} orders)")
    for path, data in writes:
        atomic_write_json(path, data)
    if not home.dotenv.exists():
        write_private(home.dotenv, ENV_TEMPLATE)  # it is where the token and passwords go
        created.append(".env")
    click.echo(f"home: {home.root}")
    for item in created:
        click.echo(f"  created {item}")
    if demo:
        click.echo("next: pstt run demo-orders-csv   (or: pstt serve)")


def _merged(path: Path, data: dict[str, list[dict[str, object]]]) -> dict[str, Any] | None:
    """The existing file plus the entries whose name/id it lacks (never dropping anything),
    or ``None`` when nothing is missing."""
    current = read_json(path, {})
    if not isinstance(current, dict):
        raise ConfigError("the top level must be an object; not changing this file",
                          file=str(path), path="$")
    changed = False
    for key, entries in data.items():
        existing = current.setdefault(key, [])
        if not isinstance(existing, list):
            raise ConfigError("must be a list; not changing this file", file=str(path),
                              path=f"$.{key}")
        names = {e.get("id") or e.get("name") for e in existing if isinstance(e, dict)}
        for entry in entries:
            if (entry.get("id") or entry.get("name")) not in names:
                existing.append(entry)
                changed = True
    return current if changed else None
