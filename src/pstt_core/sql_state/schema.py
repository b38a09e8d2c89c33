"""The schema version of a state database: upgrade it (Alembic, the migrations shipped in
``migrations/``) or say why this PSTT cannot use it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "pstt_alembic_version"


def _config(connection: sa.Connection) -> object:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The schema revision this PSTT writes."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return str(script.get_current_head())


def current(engine: sa.Engine) -> str | None:
    """The database's revision (``None``: no PSTT tables yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """Create or upgrade the tables to :func:`head`; returns (before, after)."""
    from alembic import command

    before = current(engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn), "head")  # type: ignore[arg-type]
    return before, head()


def problem(engine: sa.Engine, where: str) -> str | None:
    """Why the database cannot be used as it is (no tables, an older or newer schema)."""
    now, wanted = current(engine), head()
    if now == wanted:
        return None
    if now is None:
        return (f"the state database {where} has no PSTT tables: run `pstt state upgrade` "
                "to create them")
    return (f"the state database {where} has schema {now}, this PSTT needs {wanted}: run "
            "`pstt state upgrade` (every instance sharing it must run this version)")
