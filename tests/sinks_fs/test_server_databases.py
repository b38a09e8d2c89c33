"""Real PostgreSQL and MariaDB results through the sink: faithful text, lossless JSON, and the
driver-row fast path giving exactly what SQLAlchemy's rows give, in bounded batches."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from pstt_core.pipeline import batches
from tests.conftest import HomeBuilder
from tests.sinks_fs.conftest import FsHome

UID = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")


@pytest.fixture
def pg_table(pg_url: str, unique_name: str) -> Any:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"CREATE TABLE {unique_name} (id int PRIMARY KEY, ts timestamptz, d date, "
            "amount numeric(20,10), blob bytea, uid uuid, note text)"))
        conn.execute(sa.text(
            f"INSERT INTO {unique_name} VALUES (1, '2026-01-31 08:00:05+01', '2026-02-01', 0, "
            "'\\x00ff10'::bytea, :uid, 'multi\nline, \"quoted\"'), "
            "(2, NULL, NULL, 12345678.5, NULL, NULL, NULL)"), {"uid": UID})
        conn.execute(sa.text(f"INSERT INTO {unique_name} SELECT g, now(), current_date, g / 7.0, "
                             "NULL, NULL, 'row ' || g FROM generate_series(3, 2500) g"))
    yield unique_name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {unique_name}"))
    engine.dispose()


def pg_home(home: HomeBuilder, pg_url: str) -> FsHome:
    home.add_database("pg", pg_url)
    return FsHome(home)


def schedule(fs: FsHome, table: str, **options: Any) -> None:
    fs.pstt.create_schedule({
        "id": "pg", "name": "pg", "connection": "pg", "trigger": {"type": "interval", "seconds": 60},
        "query": f"SELECT * FROM {table} ORDER BY id", "sharing_mode": "filesystem",
        "enabled": False, "batch_size": 1000, "sink_options": options})


def test_postgres_values_in_csv_are_faithful(home: HomeBuilder, pg_url: str, pg_table: str) -> None:
    fs = pg_home(home, pg_url)
    schedule(fs, pg_table, filename="pg.csv")
    record = fs.run("pg")
    assert record.status == "success", record.error
    assert record.rows == 2500
    with open(fs.exports / "pg.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "ts", "d", "amount", "blob", "uid", "note"]
    first = rows[1]
    assert datetime.fromisoformat(first[1]) == datetime(2026, 1, 31, 7, 0, 5, tzinfo=timezone.utc)
    assert first[2:] == ["2026-02-01", "0.0000000000", "AP8Q", str(UID), 'multi\nline, "quoted"']
    assert rows[2] == ["2", "", "", "12345678.5000000000", "", "", ""]


def test_postgres_values_in_jsonl_are_lossless(home: HomeBuilder, pg_url: str, pg_table: str) -> None:
    fs = pg_home(home, pg_url)
    schedule(fs, pg_table, format="jsonl", filename="pg.jsonl")
    assert fs.run("pg").status == "success"
    first = json.loads((fs.exports / "pg.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert datetime.fromisoformat(first["ts"]) == datetime(2026, 1, 31, 8, 0, 5,
                                                           tzinfo=timezone(timedelta(hours=1)))
    assert date.fromisoformat(first["d"]) == date(2026, 2, 1)
    assert Decimal(first["amount"]) == 0 and first["amount"] == "0.0000000000"
    assert base64.b64decode(first["blob"]) == b"\x00\xff\x10"
    assert uuid.UUID(first["uid"]) == UID


@pytest.mark.parametrize("service", ["postgres", "mariadb"])
def test_driver_rows_match_sqlalchemy_rows_in_bounded_batches(
        request: pytest.FixtureRequest, service: str, unique_name: str) -> None:
    url = request.getfixturevalue("pg_url" if service == "postgres" else "mariadb_url")
    engine = sa.create_engine(url)
    series = ("SELECT g AS id, g * 1.5 AS x, CAST(g AS CHAR(8)) AS s FROM generate_series(1, 2345) g"
              if service == "postgres" else
              "SELECT seq AS id, seq * 1.5 AS x, CAST(seq AS CHAR(8)) AS s FROM seq_1_to_2345")
    try:
        with engine.connect() as conn:
            fast_conn = conn.execution_options(stream_results=True, yield_per=500)
            result = fast_conn.execute(sa.text(series))
            assert not result.cursor_strategy.__class__.__name__.startswith("FullyBuffered")
            fast = list(batches(result, 500))
        with engine.connect() as conn:
            rows = conn.execute(sa.text(series)).all()
    finally:
        engine.dispose()
    assert [len(b) for b in fast] == [500, 500, 500, 500, 345]
    assert [tuple(r) for b in fast for r in b] == [tuple(r) for r in rows]
    assert all(type(r) is tuple for b in fast for r in b)  # driver tuples, no Row objects


def test_results_with_type_processors_fall_back_to_sqlalchemy_rows() -> None:
    engine = sa.create_engine("sqlite://")
    stmt = sa.text("SELECT '2026-01-02 03:04:05' AS ts, 1 AS n").columns(ts=sa.DateTime, n=sa.Integer)
    with engine.connect() as conn:
        parts = list(batches(conn.execute(stmt), 10))
    assert parts[0][0][0] == datetime(2026, 1, 2, 3, 4, 5)  # processed by SQLAlchemy
    assert parts[0][0][1] == 1


def test_empty_postgres_result_streams_to_a_header_only_file(home: HomeBuilder, pg_url: str,
                                                            pg_table: str) -> None:
    fs = pg_home(home, pg_url)
    fs.pstt.create_schedule({
        "id": "none", "name": "none", "connection": "pg", "trigger": {"type": "interval", "seconds": 60},
        "query": f"SELECT id, note FROM {pg_table} WHERE false", "sharing_mode": "filesystem",
        "enabled": False, "sink_options": {"filename": "none.csv"}})
    record = fs.run("none")
    assert record.status == "success" and record.rows == 0
    assert (fs.exports / "none.csv").read_bytes() == b"id,note\r\n"
    assert io.BytesIO((fs.exports / "none.csv").read_bytes()).read(2) == b"id"
