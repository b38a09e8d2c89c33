"""Bounding a run's query: the database's own statement timeout, and a way to cancel it.

A run's ``timeout_sec`` covers the whole run, including a query that blocks before its first
row (``SELECT pg_sleep(60)``), where a check between batches never comes. So, per dialect:

- PostgreSQL: ``statement_timeout`` for the run's transaction (``set_config(…, true)``), and
  the driver's ``cancel()`` from the watchdog or a signal;
- MariaDB ``max_statement_time`` / MySQL ``max_execution_time`` for the session (put back
  when the run ends), and ``KILL QUERY`` from a second connection;
- SQLite: a progress handler that aborts the statement once the run is stopped;
- anything else: the watchdog's stop is seen between batches.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .control import RunControl

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("pstt.timeouts")

# SQLite calls the progress handler every this many virtual-machine instructions.
SQLITE_PROGRESS_STEPS = 10_000


def _driver_connection(conn: sa.Connection) -> Any:
    return conn.connection.driver_connection


def _is_mariadb(conn: sa.Connection) -> bool:
    return bool(getattr(conn.dialect, "is_mariadb", False))


@contextlib.contextmanager
def bounded(conn: sa.Connection, control: RunControl, seconds: float | None) -> Iterator[None]:
    """Run the block with the statement limited to ``seconds`` and cancellable by ``control``."""
    name = conn.dialect.name
    cm: contextlib.AbstractContextManager[None]
    if name == "postgresql":
        cm = _postgresql(conn, control, seconds)
    elif name in ("mysql", "mariadb"):
        cm = _mysql(conn, control, seconds)
    elif name == "sqlite":
        cm = _sqlite(conn, control)
    else:
        cm = contextlib.nullcontext()
    with cm:
        yield


@contextlib.contextmanager
def _postgresql(conn: sa.Connection, control: RunControl,
                seconds: float | None) -> Iterator[None]:
    if seconds:
        # transaction-local: the pooled connection gets its default back at the rollback
        from sqlalchemy import text

        conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"),
                     {"ms": str(math.ceil(seconds * 1000))})
    raw = _driver_connection(conn)
    cancel: Callable[[], None] = getattr(raw, "cancel_safe", None) or raw.cancel
    with control.cancelling(cancel):
        yield


@contextlib.contextmanager
def _mysql(conn: sa.Connection, control: RunControl, seconds: float | None) -> Iterator[None]:
    mariadb = _is_mariadb(conn)
    variable = "max_statement_time" if mariadb else "max_execution_time"
    if seconds:  # MariaDB counts seconds, MySQL milliseconds (and only for SELECT)
        value = f"{seconds:.3f}" if mariadb else str(math.ceil(seconds * 1000))
        conn.exec_driver_sql(f"SET SESSION {variable} = {value}")
    raw = _driver_connection(conn)
    thread_id = raw.thread_id() if hasattr(raw, "thread_id") else None
    engine = conn.engine

    def kill() -> None:
        if thread_id is not None:
            with engine.connect() as other:
                other.exec_driver_sql(f"KILL QUERY {int(thread_id)}")

    try:
        with control.cancelling(kill):
            yield
    finally:
        if seconds:
            try:
                conn.exec_driver_sql(f"SET SESSION {variable} = DEFAULT")
            except Exception:  # a killed or broken session: do not pool it
                conn.invalidate()


@contextlib.contextmanager
def _sqlite(conn: sa.Connection, control: RunControl) -> Iterator[None]:
    raw = _driver_connection(conn)
    raw.set_progress_handler(lambda: 1 if control.stopped else 0, SQLITE_PROGRESS_STEPS)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
