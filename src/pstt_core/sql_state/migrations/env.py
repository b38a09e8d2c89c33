"""Alembic environment of the SQL state backend: run by ``pstt_core.sql_state.upgrade`` on
the connection it is given (never from an alembic.ini)."""

from __future__ import annotations

from alembic import context

from pstt_core.sql_state.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  version_table="pstt_alembic_version")
with context.begin_transaction():
    context.run_migrations()
