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
from tests.core.conftest import Recorder, table_on

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
    with table_on(request, home, unique_name, DDL, "db") as (_url, engine):
        yield engine, unique_name


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


AGG_DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, customer_id INTEGER, amount NUMERIC, "
              "updated_at TEXT)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, customer_id INTEGER, "
                  "amount NUMERIC(12,2), updated_at TIMESTAMPTZ)",
    "mysql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, customer_id INTEGER, "
             "amount DECIMAL(12,2), updated_at DATETIME(6))",
}


def own_predicate_recipe() -> str:
    text = (DOCS / "INCREMENTAL.md").read_text(encoding="utf-8")
    return next(block for block in re.findall(r"```sql\n(.*?)```", text, re.DOTALL)
                if ":pstt_low" in block and "GROUP BY" in block)


def test_the_documented_group_by_recipe_on_every_database(
        orders: tuple[sa.Engine, str], home: HomeBuilder, recorder: Recorder,
        unique_name: str) -> None:
    engine, _ = orders
    table = unique_name + "_agg"
    with engine.begin() as conn:
        conn.execute(sa.text(AGG_DDL[engine.dialect.name].format(t=table)))
    try:
        def add(i: int, customer: int, amount: str, ago: int) -> None:
            with engine.begin() as conn:
                if engine.dialect.name == "sqlite":
                    when = (datetime.now(timezone.utc) - timedelta(seconds=ago)).isoformat()
                    conn.execute(sa.text(f"INSERT INTO {table} VALUES (:i, :c, :a, :w)"),
                                 {"i": i, "c": customer, "a": amount, "w": when})
                else:
                    now = NOW[engine.dialect.name]
                    stamp = f"{now} - INTERVAL '{ago} seconds'" if engine.dialect.name == \
                        "postgresql" else f"{now} - INTERVAL {ago} SECOND"
                    conn.execute(sa.text(f"INSERT INTO {table} VALUES (:i, :c, :a, {stamp})"),
                                 {"i": i, "c": customer, "a": amount})

        add(1, 1, "10.00", 60)
        add(2, 1, "5.50", 50)
        add(3, 2, "7.25", 40)
        start = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        home.add_schedule(id="agg", connection="db", sharing_mode="recorder",
                          query=own_predicate_recipe().replace("FROM orders", f"FROM {table}"),
                          incremental={"column": "updated_at", "delay_sec": 1, "start": start})
        pstt = home.pstt(logs=False)
        first = pstt.run("agg")
        assert first.status == "success", first.error
        got = {int(r[0]): str(r[2]) for r in recorder.last().rows}
        assert {k: float(v) for k, v in got.items()} == {1: 15.5, 2: 7.25}
        add(4, 1, "1.00", 0)
        time.sleep(1.5)  # past delay_sec
        second = pstt.run("agg")
        assert second.status == "success", second.error
        assert [(int(r[0]), float(r[2])) for r in recorder.last().rows] == [(1, 1.0)]
        assert pstt.run("agg").rows == 0
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
