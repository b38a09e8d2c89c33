"""A schedule's query cannot change its database: sessions are read-only where the database
enforces it (SQLite ``query_only``, PostgreSQL and MariaDB read-only sessions), so CREATE
TABLE or SQLite's ``VACUUM INTO`` fail the run and leave nothing; ``"read_only": false`` on
the database entry opts out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import HomeBuilder

WRITES = {"sqlite": "CREATE TABLE {t} AS SELECT 1 AS a",
          "postgresql": "CREATE TABLE {t} AS SELECT 1 AS a",
          "mariadb": "CREATE TABLE {t} AS SELECT 1 AS a"}


def _url(kind: str, home: HomeBuilder, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{home.root / 'demo.db'}"
    return str(request.getfixturevalue("pg_url" if kind == "postgresql" else "mariadb_url"))


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _drop(url: str, table: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
@pytest.mark.parametrize("read_only", [True, False])
def test_a_writing_query_fails_and_leaves_nothing(kind: str, read_only: bool, home: HomeBuilder,
                                                  request: pytest.FixtureRequest,
                                                  unique_name: str) -> None:
    url = _url(kind, home, request)
    entry: dict[str, Any] = {"name": "db", "url": url}
    if not read_only:
        entry["read_only"] = False
    home.connections["databases"].append(entry)
    home.add_schedule(id="w", connection="db", query=WRITES[kind].format(t=unique_name),
                      sink_options={"filename": "w_{export_id}.csv"})
    pstt = home.pstt(logs=False, environ={})
    try:
        record = pstt.run("w")
        assert record.status == "failed"  # a CREATE returns no rows either way
        created = unique_name in _tables(url)
        # read-only: refused by the database; opted out: the old behaviour (DDL that commits
        # by itself on MariaDB, rolled back on SQLite and PostgreSQL)
        if read_only:
            assert not created, record.error
            if kind != "postgresql":  # PostgreSQL refuses DDL in a streaming cursor anyway
                assert "only" in (record.error or "").lower(), record.error
        # the same engine still reads
        home.add_schedule(id="r", connection="db", query="SELECT 1 AS one",
                          sink_options={"filename": "r_{export_id}.csv"})
        home.write()
        assert pstt.run("r").status == "success"
    finally:
        pstt.databases.dispose()
        _drop(url, unique_name)


def test_vacuum_into_cannot_write_outside_the_home(home: HomeBuilder, tmp_path_factory: Any) -> None:
    target = Path(tmp_path_factory.mktemp("outside")) / "stolen.db"
    home.add_schedule(id="v", query=f"VACUUM INTO '{target}'",
                      sink_options={"filename": "v_{export_id}.csv"})
    pstt = home.pstt(logs=False, environ={})
    record = pstt.run("v")
    assert record.status == "failed" and "authorization denied" in (record.error or ""), record.error
    assert not target.exists()
    # ATTACH creates a file as well
    home.add_schedule(id="a", query=f"ATTACH DATABASE '{target}' AS x",
                      sink_options={"filename": "a_{export_id}.csv"})
    home.write()
    assert pstt.run("a").status == "failed"
    assert not target.exists()
