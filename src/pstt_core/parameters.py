"""Bind parameters of a schedule's query, as types each database compares correctly.

The one place where values become bind parameters (the row pipeline and every other path
that runs a schedule's query use :func:`bind`):

- PostgreSQL: timestamps, dates and numbers are cast to their type in the statement
  (``CAST(:last_success_at AS TIMESTAMP WITH TIME ZONE)``), so a NULL on the first run is
  still a ``timestamptz`` (``COALESCE(:last_success_at, '1970-01-01')`` then works) and
  every driver sends the same thing;
- MySQL / MariaDB: a time with an offset is given in the session's time zone (DATETIME and
  TIMESTAMP values are read and compared in that zone; the drivers drop the offset);
- SQLite: times and dates are ISO-8601 text with ``T`` (``2026-01-21T08:00:00+00:00``), the
  form the demo database and PSTT write, so text comparisons order them correctly; decimals
  are exact text;
- text is never cast: the database takes it as the type of what it is compared with.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .values import decimal_text

if TYPE_CHECKING:  # imported by the functions: loading schedules needs no SQLAlchemy
    import sqlalchemy as sa

# SQLAlchemy's own rule for ``:name`` in text(): not after ``:``, a word character or ``\``,
# not followed by ``:`` (so ``::type`` casts and ``a:b`` are left alone).
_BIND = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)", re.UNICODE)

# Parameters whose NULL is a time (PostgreSQL must still know their type).
TIME_PARAMETERS = frozenset({"run_time", "last_success_at"})

_INT64 = 2 ** 63


def as_written(sql: str) -> bool:
    """Whether SQLAlchemy's ``text()`` leaves ``sql`` as it is — no ``:name`` to bind, no
    ``\\:`` to unescape — so it can go to a driver without importing SQLAlchemy (a columnar
    run may never need it)."""
    return ":" not in sql


def referenced(sql: str) -> set[str]:
    """The ``:names`` a query binds, as SQLAlchemy's ``text()`` reads them."""
    if as_written(sql):
        return set()
    import sqlalchemy as sa

    return set(sa.text(sql)._bindparams)


def _pg_type(name: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return "TIMESTAMP WITH TIME ZONE" if value.tzinfo else "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, int):
        return "BIGINT" if -_INT64 <= value < _INT64 else "NUMERIC"
    if isinstance(value, Decimal):
        return "NUMERIC"
    if isinstance(value, float):
        return "DOUBLE PRECISION"
    if value is None and name in TIME_PARAMETERS:
        return "TIMESTAMP WITH TIME ZONE"
    return None


def session_offset(conn: sa.Connection) -> timedelta:
    """The UTC offset of a MySQL / MariaDB session's time zone, now."""
    import sqlalchemy as sa

    seconds = conn.execute(sa.text(
        "SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())")).scalar_one()
    return timedelta(minutes=round(int(seconds) / 60))  # whole minutes: no clock-tick jitter


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    return value


def bind(conn: sa.Connection, sql: str, values: dict[str, Any]) -> tuple[sa.TextClause,
                                                                          dict[str, Any]]:
    """The statement for ``sql`` and its parameters (only those it references)."""
    import sqlalchemy as sa

    names = referenced(sql)
    params = {k: v for k, v in values.items() if k in names}
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sa.text(sql), {k: _sqlite_value(v) for k, v in params.items()}
    if dialect in ("mysql", "mariadb"):
        aware = [k for k, v in params.items() if isinstance(v, datetime) and v.tzinfo]
        if aware:
            zone = timezone(session_offset(conn))
            for k in aware:
                params[k] = params[k].astimezone(zone).replace(tzinfo=None)
        return sa.text(sql), params
    if dialect == "postgresql":
        casts = {k: t for k, v in params.items() if (t := _pg_type(k, v))}

        def cast(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"CAST(:{name} AS {casts[name]})" if name in casts else match.group(0)

        return sa.text(_BIND.sub(cast, sql) if casts else sql), params
    return sa.text(sql), params
