"""``timeout_sec`` bounds the whole run, also a query that blocks before its first row: the
database's own statement timeout and a cancel from the watchdog stop it."""

from __future__ import annotations

import time

import pytest

from tests.conftest import HomeBuilder


def _timed_run(home: HomeBuilder, url: str, query: str) -> tuple[dict[str, object], float]:
    home.add_database("server", url)
    home.add_schedule(id="blocked", connection="server", query=query, timeout_sec=3,
                      sink_options={"filename": "blocked_{export_id}.csv"})
    pstt = home.pstt(logs=False, environ={})
    t0 = time.monotonic()
    record = pstt.run("blocked")
    took = time.monotonic() - t0
    pstt.databases.dispose()
    return record.to_dict(), took


@pytest.mark.parametrize(("server", "query"), [
    pytest.param("pg_url", "SELECT pg_sleep(60)", marks=pytest.mark.postgres),
    pytest.param("mariadb_url", "SELECT SLEEP(60)", marks=pytest.mark.mariadb),
])
def test_a_sleeping_query_stops_at_the_timeout(home: HomeBuilder, request: pytest.FixtureRequest,
                                               server: str, query: str) -> None:
    record, took = _timed_run(home, request.getfixturevalue(server), query)
    assert (record["status"], record["error"]) == ("failed", "timed out after 3 s")
    assert took < 5


def test_sqlite_query_stops_at_the_timeout(home: HomeBuilder) -> None:
    # a query that computes for minutes before its first row
    query = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
             "WHERE x < 2000000000) SELECT max(x) FROM c")
    home.add_schedule(id="blocked", query=query, timeout_sec=1,
                      sink_options={"filename": "blocked_{export_id}.csv"})
    t0 = time.monotonic()
    # the row path's progress handler (tests/columnar covers the columnar path's stop, whose
    # SQLite statement cannot be cancelled and would compute on for minutes)
    record = home.pstt(logs=False, environ={"PSTT_COLUMNAR": "off"}).run("blocked")
    assert time.monotonic() - t0 < 3
    assert (record.status, record.error) == ("failed", "timed out after 1 s")


@pytest.mark.mariadb
def test_the_pooled_session_gets_its_default_back(home: HomeBuilder, mariadb_url: str) -> None:
    home.add_database("server", mariadb_url)
    home.add_schedule(id="quick", connection="server", query="SELECT @@max_statement_time AS t",
                      timeout_sec=7, sink_options={"filename": "q_{export_id}.csv"})
    pstt = home.pstt(logs=False, environ={})
    assert pstt.run("quick").status == "success"
    import sqlalchemy as sa

    with pstt.databases.engine("server").connect() as conn:  # the same pooled connection
        assert float(conn.execute(sa.text("SELECT @@max_statement_time")).scalar()) != 7
    pstt.databases.dispose()
