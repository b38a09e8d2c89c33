"""Preview of a query on each database: first rows, read-only, a short time limit."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from pstt_core.errors import PsttError
from pstt_core.preview import preview
from tests.conftest import HomeBuilder

SLEEP = {"sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                   "SELECT count(*) FROM n",
         "postgresql": "SELECT pg_sleep(30)", "mariadb": "SELECT SLEEP(30)"}
# a statement that writes (PostgreSQL's server-side cursor takes only queries: nextval()
# is a query that writes)
WRITE = {"sqlite": "CREATE TABLE {t} (a INT)", "postgresql": "SELECT nextval('{t}')",
         "mariadb": "CREATE TABLE {t} (a INT)"}


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, home: HomeBuilder) -> tuple[str, Any]:
    kind = request.param
    # read-write: the preview's own read-only transaction is what is tested here
    home.connections["databases"][0]["read_only"] = False
    if kind != "sqlite":
        home.add_database("server", request.getfixturevalue(
            "pg_url" if kind == "postgresql" else "mariadb_url"), read_only=False)
    pstt = home.pstt(logs=False, environ={})
    return kind, pstt


def test_first_rows_and_columns(db: tuple[str, Any]) -> None:
    kind, pstt = db
    conn = "demo" if kind == "sqlite" else "server"
    query = ("SELECT id, amount FROM orders ORDER BY id" if kind == "sqlite" else
             "SELECT 1 AS id, 2.5 AS amount UNION ALL SELECT 2, 3.5")
    got = preview(pstt, conn, query, limit=1)
    assert got["columns"] == ["id", "amount"] and len(got["rows"]) == 1 and got["truncated"]
    assert preview(pstt, conn, "SELECT :run_time AS t")["rows"][0][0]  # the run's parameters


def test_writes_are_refused_and_leave_nothing(db: tuple[str, Any], unique_name: str) -> None:
    kind, pstt = db
    conn = "demo" if kind == "sqlite" else "server"
    engine = pstt.databases.engine(conn)
    if kind == "postgresql":
        with engine.begin() as c:
            c.execute(sa.text(f"CREATE SEQUENCE {unique_name}"))
    try:
        with pytest.raises(PsttError, match="(?i)read.?only"):
            preview(pstt, conn, WRITE[kind].format(t=unique_name))
    finally:
        if kind == "postgresql":
            with engine.begin() as c:
                c.execute(sa.text(f"DROP SEQUENCE {unique_name}"))
    with engine.connect() as c:
        assert unique_name not in sa.inspect(c).get_table_names()
        # the pooled connection is writable again for real runs
        c.execute(sa.text(f"CREATE TABLE {unique_name} (a INT)"))
        c.execute(sa.text(f"DROP TABLE {unique_name}"))
        c.commit()


def test_a_slow_query_is_stopped_by_the_time_limit(db: tuple[str, Any]) -> None:
    kind, pstt = db
    conn = "demo" if kind == "sqlite" else "server"
    t0 = time.monotonic()
    with pytest.raises(PsttError, match="SQL error"):
        preview(pstt, conn, SLEEP[kind], timeout=1.0)
    assert time.monotonic() - t0 < 6
    assert preview(pstt, conn, "SELECT 1 AS one")["rows"] == [[1]]  # limits were reset
