"""Try a query before saving a schedule: the first rows, read-only, within a short time.

Only a few rows are fetched from a streaming cursor (the query text is not rewritten, so any
SELECT works on any dialect), inside a transaction that is always rolled back. Where the
database can enforce it, the transaction is read-only and the statement has a time limit:

============  ===================================================  ==============================
database      read-only                                            time limit
============  ===================================================  ==============================
SQLite        ``PRAGMA query_only``                                progress handler
PostgreSQL    ``SET TRANSACTION READ ONLY``                        ``SET LOCAL statement_timeout``
MariaDB       ``SET SESSION TRANSACTION READ ONLY``                ``max_statement_time``
MySQL         ``SET SESSION TRANSACTION READ ONLY``                ``max_execution_time``
============  ===================================================  ==============================

Other dialects get the rollback only; the web handler stops waiting after the time limit.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .errors import ConfigError, PsttError
from .models import RunInfo, Schedule, Trigger
from .pipeline import check_parameters, statement
from .values import json_default

if TYPE_CHECKING:
    from .facade import Pstt

PREVIEW_ROWS = 20
MAX_PREVIEW_ROWS = 200
PREVIEW_TIMEOUT_SEC = 5.0


def preview(pstt: Pstt, connection: str, query: str, *, limit: int = PREVIEW_ROWS,
            timeout: float = PREVIEW_TIMEOUT_SEC) -> dict[str, Any]:
    """``{"columns", "rows", "truncated", "duration_ms"}`` for the first ``limit`` rows; a
    query that fails raises ``PsttError`` with the database's one-line message."""
    if not query.strip():
        raise ConfigError("must not be empty", path="query")
    if connection not in pstt.config.databases:
        known = ", ".join(sorted(pstt.config.databases)) or "none"
        raise ConfigError(f"unknown database connection {connection!r}; configured: {known}",
                          path="connection")
    schedule = Schedule(id="preview", name="preview", connection=connection, query=query,
                        trigger=Trigger("interval", seconds=60), sharing_mode="preview")
    run = RunInfo.new(schedule)
    check_parameters(run)
    engine = pstt.databases.engine(connection)
    t0 = time.perf_counter()
    try:
        read_only = pstt.config.databases[connection].read_only
        with engine.connect() as conn, _guarded(conn, timeout, keep_read_only=read_only):
            stmt, params, _plan = statement(conn, run)
            result = conn.execution_options(stream_results=True).execute(stmt, params)
            if not result.returns_rows:
                raise PsttError("the query returned no result set (is it a SELECT?)")
            columns = list(result.keys())
            rows = [tuple(r) for r in result.fetchmany(limit + 1)]
            result.close()
    except sa.exc.SQLAlchemyError as exc:
        from .databases import describe_db_error

        text = describe_db_error(exc)
        if time.perf_counter() - t0 >= timeout * 0.9:
            text = f"stopped after {timeout:g} s (the preview's time limit): {text}"
        raise PsttError(f"SQL error: {text}") from None
    # values as the Kafka and JSON Lines exports write them (lossless text for the rest)
    shown = json.loads(json.dumps([list(r) for r in rows[:limit]], default=json_default))
    return {"columns": columns, "rows": shown, "truncated": len(rows) > limit,
            "duration_ms": round((time.perf_counter() - t0) * 1000, 1)}


@contextlib.contextmanager
def _guarded(conn: sa.Connection, timeout: float, *, keep_read_only: bool = False) -> Iterator[None]:
    """A read-only transaction with a statement time limit where the dialect has them; the
    transaction is rolled back and session settings are restored whatever happens — except
    read-only itself on a ``read_only`` database, whose sessions always are."""
    dialect = conn.dialect.name
    raw: Any = None
    restore: list[str] = []
    try:
        if dialect == "sqlite":
            raw = conn.connection.dbapi_connection
            conn.exec_driver_sql("PRAGMA query_only = ON")
            if not keep_read_only:
                restore.append("PRAGMA query_only = OFF")
            deadline = time.monotonic() + timeout
            raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        elif dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
        elif dialect in ("mysql", "mariadb"):
            # for the session, not the next transaction: DDL commits implicitly and would
            # run outside a read-only transaction
            conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
            if not keep_read_only:
                restore.append("SET SESSION TRANSACTION READ WRITE")
            if getattr(conn.dialect, "is_mariadb", False):
                conn.exec_driver_sql(f"SET SESSION max_statement_time = {timeout:g}")
                restore.append("SET SESSION max_statement_time = DEFAULT")
            else:
                conn.exec_driver_sql(f"SET SESSION max_execution_time = {int(timeout * 1000)}")
                restore.append("SET SESSION max_execution_time = DEFAULT")
            conn.rollback()  # the session's characteristics apply from the next transaction
        yield
    finally:
        with contextlib.suppress(Exception):
            conn.rollback()
        if raw is not None:
            raw.set_progress_handler(None, 0)
        for statement in restore:
            with contextlib.suppress(Exception):
                conn.exec_driver_sql(statement)
                conn.commit()
