"""``:last_success_at`` and ``:run_time`` on real SQLite, PostgreSQL and MariaDB (in a
session time zone that is not UTC): every recipe of the docs, first run included."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import HomeBuilder
from tests.core.conftest import Recorder
from tests.core.test_incremental import MARIADB_ZONE

DOCS = Path(__file__).resolve().parents[2] / "docs"
DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, updated_at TEXT, ordered_at TEXT)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, updated_at TIMESTAMPTZ, "
                  "ordered_at TIMESTAMPTZ)",
    "mysql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, updated_at DATETIME(6), "
             "ordered_at DATETIME(6))",
}
# The database's clock, as the table's column type stores it.
NOW = {"postgresql": "now()", "mysql": "NOW(6)"}


def doc_recipes() -> list[str]:
    """The ``:last_success_at`` / ``:run_time`` queries of the docs, on table ``orders``."""
    found = []
    for path in sorted(DOCS.glob("*.md")):
        for query in re.findall(r"SELECT \* FROM orders WHERE [^\n\"`]*?:(?:last_success_at|run_time)"
                                r"[^\n\"`]*", path.read_text(encoding="utf-8")):
            found.append(query.strip().rstrip(","))
    return sorted(set(found))


def test_the_docs_have_recipes() -> None:
    recipes = doc_recipes()
    assert len(recipes) >= 3, recipes
    assert not [r for r in recipes if ">= :last_success_at" in r and "IS NULL" not in r], \
        "a recipe that exports nothing on the first run"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def orders(request: pytest.FixtureRequest, home: HomeBuilder,
           unique_name: str) -> Iterator[tuple[sa.Engine, str]]:
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{home.root / 'times.db'}"
    elif kind == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = request.getfixturevalue("mariadb_url") + MARIADB_ZONE
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(DDL[engine.dialect.name].format(t=unique_name)))
    home.add_database("db", url, create_if_missing=True)
    try:
        yield engine, unique_name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {unique_name}"))
        engine.dispose()


def _insert(engine: sa.Engine, table: str, ids: range, ago: timedelta) -> None:
    """Rows stamped by the database's clock (SQLite: ISO text in UTC, as PSTT writes)."""
    with engine.begin() as conn:
        for i in ids:
            if engine.dialect.name == "sqlite":
                when = (datetime.now(timezone.utc) - ago).isoformat()
                conn.execute(sa.text(f"INSERT INTO {table} VALUES (:i, :w, :w)"),
                             {"i": i, "w": when})
            else:
                now = NOW[engine.dialect.name]
                sec = int(ago.total_seconds())
                stamp = f"{now} - INTERVAL '{sec} seconds'" if engine.dialect.name == \
                    "postgresql" else f"{now} - INTERVAL {sec} SECOND"
                conn.execute(sa.text(f"INSERT INTO {table} VALUES (:i, {stamp}, {stamp})"),
                             {"i": i})


@pytest.mark.parametrize("recipe", doc_recipes())
def test_every_documented_recipe_works_from_the_first_run(
        recipe: str, orders: tuple[sa.Engine, str], home: HomeBuilder,
        recorder: Recorder) -> None:
    engine, table = orders
    # stamped the same day as the runs (SQLite compared a space-separated time with ISO
    # text and exported them again on every run)
    _insert(engine, table, range(1, 4), timedelta(seconds=60))
    query = recipe.replace("FROM orders", f"FROM {table}")
    home.add_schedule(id="r", connection="db", query=query, sharing_mode="recorder")
    pstt = home.pstt(logs=False)
    first = pstt.run("r")
    assert first.status == "success", first.error
    assert sorted(r[0] for r in recorder.last().rows) == [1, 2, 3]  # the first run: all
    time.sleep(0.05)
    _insert(engine, table, range(4, 5), timedelta(0))  # after the first run started
    second = pstt.run("r")
    assert second.status == "success", second.error
    got = sorted(r[0] for r in recorder.last().rows)
    if ":last_success_at" in recipe:
        assert got == [4]  # only what is new since the last successful run
    else:
        assert got[:3] == [1, 2, 3]
