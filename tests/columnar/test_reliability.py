"""The columnar path under stress, as the row path: the watchdog's timeout and a cancel stop
a blocked ADBC read, SIGTERM of a real ``pstt run`` gives an ``interrupted`` record, the
reader opens read-only with the engine's connection configuration, and never creates a
SQLite file."""

from __future__ import annotations

import logging
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from pstt_core.columnar.source import AdbcTarget, ArrowSource, SourceFailed, adbc_target
from pstt_core.control import RunControl
from pstt_core.databases import build_url, plain_sqlite_file
from pstt_core.models import Database
from tests.conftest import HomeBuilder, free_port, logs_text, wait_for
from tests.processes import counting_query, interrupt, journal_running, start_run

COLUMNAR = "(columnar path)"
ADBC_STARTED = "ADBC read of"


def run_logged(home: HomeBuilder, sid: str, caplog: pytest.LogCaptureFixture,
               **env: str) -> tuple[Any, list[str], float]:
    pstt = home.pstt(logs=False, environ=env)
    caplog.clear()
    t0 = time.monotonic()
    with caplog.at_level(logging.INFO, logger="pstt.pipeline"):
        record = pstt.run(sid)
    took = time.monotonic() - t0
    pstt.close()
    return record, [r.getMessage() for r in caplog.records], took


def test_timeout_stops_a_sqlite_read_blocked_before_its_first_batch(
        home: HomeBuilder, caplog: pytest.LogCaptureFixture) -> None:
    # a few seconds of SQLite work before the first row (bounded: SQLite's ADBC driver has no
    # cancel, so this statement finishes in the background after the run has stopped)
    query = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
             "WHERE x < 20000000) SELECT max(x) AS m FROM c")
    home.add_schedule(id="blocked", query=query, timeout_sec=1,
                      sink_options={"filename": "blocked_{export_id}.csv"})
    record, messages, took = run_logged(home, "blocked", caplog)
    assert any(ADBC_STARTED in m for m in messages), messages
    assert (record.status, record.error) == ("failed", "timed out after 1 s")
    assert took < 3
    assert list((home.root / "exports").glob("blocked_*")) == []


def test_timeout_stops_a_columnar_export_between_batches(
        home: HomeBuilder, caplog: pytest.LogCaptureFixture) -> None:
    home.add_schedule(id="long", query=counting_query(50_000_000), timeout_sec=1.5,
                      batch_size=2000, sink_options={"filename": "long_{export_id}.csv"})
    record, messages, took = run_logged(home, "long", caplog)
    assert any(COLUMNAR in m for m in messages), messages
    assert (record.status, record.error) == ("failed", "timed out after 1.5 s")
    assert 0 < record.rows < 50_000_000 and took < 4
    assert list((home.root / "exports").rglob("*.partial")) == []


@pytest.mark.postgres
def test_watchdog_cancels_a_blocked_postgres_read(home: HomeBuilder, pg_url: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    home.add_database("pg", pg_url)
    home.add_schedule(id="sleep", connection="pg", query="SELECT pg_sleep(60) AS s, 1 AS one",
                      timeout_sec=2, sink_options={"filename": "sleep_{export_id}.csv"})
    record, messages, took = run_logged(home, "sleep", caplog)
    assert any(ADBC_STARTED in m for m in messages), messages
    assert (record.status, record.error) == ("failed", "timed out after 2 s")
    assert took < 4


@pytest.mark.postgres
def test_a_stop_cancels_the_postgres_statement_itself(pg_url: str) -> None:
    """The canceller registered with the run's control reaches the server: the statement is
    gone from pg_stat_activity right after the stop, not 60 s later."""
    import sqlalchemy as sa

    target = adbc_target(make_url(pg_url), Database(name="pg", url=pg_url))
    assert target is not None
    tag = f"pstt-cancel-{time.time_ns()}"
    control = RunControl()
    source = ArrowSource(target, control, None)
    started = threading.Thread(target=lambda: source.start(f"SELECT pg_sleep(60), '{tag}'", [], 10))
    started.start()
    engine = sa.create_engine(pg_url)

    def running() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE :q AND state = 'active'"),
                {"q": f"%{tag}%"}).scalar() or 0) - 0
    wait_for(lambda: running() >= 1, 10, what="the statement on the server")
    control.stop("timeout", "timed out")
    started.join(timeout=5)
    assert not started.is_alive()
    source.close()
    wait_for(lambda: running() == 0, 3, what="the cancelled statement to go")
    engine.dispose()


@pytest.mark.slow
def test_sigterm_of_pstt_run_during_a_columnar_export_records_interrupted(
        home: HomeBuilder) -> None:
    home.add_schedule(id="big", query=counting_query(20_000_000), batch_size=5000,
                      sink_options={"filename": "big_{export_id}.csv"})
    root = home.write()
    proc = start_run(root, "big", "run", free_port())
    wait_for(lambda: journal_running(root, min_rows=1), 30, what="the first checkpoint", proc=proc)
    record = interrupt(proc, root, signal.SIGTERM, timeout=60)
    assert record["status"] == "interrupted"
    assert 0 < record["rows"] < 20_000_000
    assert list((root / "exports").rglob("*.partial")) == []
    assert f"run {record['export_id']} reads Arrow batches {COLUMNAR}" in logs_text(root)


def test_sqlite_reader_is_read_only(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (a INTEGER)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    url = make_url(f"sqlite:///{db}").set(database=db.as_uri(), query={"mode": "rw", "uri": "true"})
    target = adbc_target(url, Database(name="ro", url=f"sqlite:///{db}"))
    assert target is not None and target.uri.endswith("?mode=ro")
    source = ArrowSource(target, RunControl(), None)
    with pytest.raises(SourceFailed, match="readonly"):
        source.start("DELETE FROM t RETURNING a", [], 10)
    source.close()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_a_missing_sqlite_file_is_not_created(home: HomeBuilder, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "gone.db"
    sqlite3.connect(db).execute("CREATE TABLE t (a INTEGER)").connection.close()
    home.add_database("gone", f"sqlite:///{db}")
    home.add_schedule(id="g", connection="gone", query="SELECT * FROM t",
                      sink_options={"filename": "g_{export_id}.csv"})
    pstt = home.pstt(logs=False, environ={})
    assert pstt.run("g").status == "success"  # engine made, columnar path taken
    db.unlink()
    record = pstt.run("g")
    pstt.close()
    assert record.status == "failed" and "does not exist" in (record.error or "")
    assert not db.exists()
    # and ADBC is never asked to open a path that is not a file
    url = make_url(f"sqlite:///{db}").set(database=db.as_uri(), query={"mode": "rw", "uri": "true"})
    assert adbc_target(url, Database(name="gone", url=f"sqlite:///{db}")) is None


def test_connection_configuration_is_the_engines() -> None:
    url = make_url("postgresql+psycopg://us%40er:p%40ss%3Aw@db.example:5433/sales"
                   "?connect_timeout=4&sslmode=require&application_name=pstt")
    target = adbc_target(url, Database(name="pg", url=str(url)))
    assert target == AdbcTarget("postgresql", "postgresql://us%40er:p%40ss%3Aw@db.example:5433/"
                                "sales?connect_timeout=4&sslmode=require&application_name=pstt")
    # discrete fields (as build_url makes them) and libpq connect_args
    db = Database(name="pg", driver="postgresql", host="h", port=5432, database="d",
                  username="u", password="s3cret", options={"connect_args": {"connect_timeout": 2}})
    target = adbc_target(build_url(db, Path("/")), db)
    assert target is not None and target.uri == "postgresql://u:s3cret@h:5432/d?connect_timeout=2"
    assert "s3cret" not in repr(target)
    # what ADBC could not reproduce keeps the row path
    odd = Database(name="pg", url="postgresql://u@h/d", options={"connect_args": {"prepare_threshold": 0}})
    assert adbc_target(make_url("postgresql://u@h/d"), odd) is None
    isolation = Database(name="pg", url="postgresql://u@h/d", options={"isolation_level": "SERIALIZABLE"})
    assert adbc_target(make_url("postgresql://u@h/d"), isolation) is None


@pytest.mark.postgres
def test_variables_in_connections_json_reach_the_reader(home: HomeBuilder, pg_url: str,
                                                        caplog: pytest.LogCaptureFixture,
                                                        own_secrets: None) -> None:
    url = make_url(pg_url)
    home.connections["databases"].append({
        "name": "pgvar", "driver": "postgresql", "host": "${PG_TEST_HOST}", "port": url.port,
        "database": url.database, "username": url.username, "password": "${PG_TEST_PASSWORD:-}"})
    home.add_schedule(id="v", connection="pgvar", query="SELECT 1 AS one, 'x' AS letter",
                      sink_options={"filename": "v_{export_id}.csv"})
    record, messages, _ = run_logged(home, "v", caplog, PG_TEST_HOST=url.host or "127.0.0.1")
    assert record.status == "success", record.error
    assert any(COLUMNAR in m for m in messages), messages


def test_connect_timeout_applies_to_the_reader() -> None:
    """A server that accepts and never answers: ``connect_timeout`` from the URL ends the
    ADBC connection attempt (the run then takes the row path, which has the same bound)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        url = make_url(f"postgresql://u@127.0.0.1:{port}/d?connect_timeout=1")
        target = adbc_target(url, Database(name="pg", url=str(url)))
        assert target is not None
        source = ArrowSource(target, RunControl(), None)
        t0 = time.monotonic()
        with pytest.raises(SourceFailed):
            source.start("SELECT 1", [], 10)
        assert time.monotonic() - t0 < 5
        source.close()
    finally:
        listener.close()


@pytest.mark.parametrize("entry", [
    {"url": "sqlite:///data/shop.db"}, {"url": "sqlite:////abs/shop.db"},
    {"url": "sqlite:///./shop.db"}, {"driver": "sqlite", "database": "data/shop.db"},
    {"driver": "SQLite", "database": "/abs/shop.db"}])
def test_a_plain_sqlite_entry_is_the_file_sqlalchemy_would_open(entry: dict[str, str]) -> None:
    home = Path("/srv/pstt-home")
    db = Database(name="shop", **entry)
    assert plain_sqlite_file(db, home) == Path(build_url(db, home).database or "")


@pytest.mark.parametrize("entry", [
    {"url": "sqlite:///shop.db?timeout=5"}, {"url": "sqlite:///file:shop.db?uri=true"},
    {"url": "sqlite:///sh%20op.db"}, {"url": "sqlite://"}, {"url": "sqlite:///:memory:"},
    {"url": "sqlite+pysqlite:///shop.db"}, {"url": "postgresql://u@h/d"},
    {"driver": "sqlite", "database": "shop.db", "host": "h"}])
def test_any_other_entry_is_left_to_sqlalchemy(entry: dict[str, str]) -> None:
    assert plain_sqlite_file(Database(name="shop", **entry), Path("/srv/pstt-home")) is None
