"""The pipeline against real SQLite, PostgreSQL and MariaDB: exact values, batches, parameters.

Each database gets a table of awkward values (dates, timestamps with time zone, exact
decimals, NULLs, emoji/CJK/accents, 1 MB of text, bytes). A schedule runs it to the
recording sink and, separately, through the filesystem sink to JSON Lines; both must carry
exactly what the database driver returns.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import HomeBuilder
from tests.core.conftest import Recorder

BIG = ("Lorem ipsum ✓ " * 80_000)[:1_000_000]
ROME = timezone(timedelta(hours=1))
ROWS: list[dict[str, Any]] = [
    {"id": 1, "d": date(2026, 1, 21), "ts": datetime(2026, 1, 21, 9, 30, 15, 123456, tzinfo=ROME),
     "amount": Decimal("12345678901234.123456"), "maybe": None,
     "txt": "Caffè ☕ 東京 naïve — 🎉👩‍💻", "big": BIG, "raw": bytes(range(256))},
    {"id": 2, "d": date(1999, 12, 31), "ts": datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
     "amount": Decimal("-0.000001"), "maybe": "not null",
     "txt": "Ελληνικά, Ærø, 한국어", "big": "", "raw": b""},
    {"id": 3, "d": None, "ts": None, "amount": None, "maybe": None, "txt": None, "big": None,
     "raw": None},
]

DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, d TEXT, ts TEXT, amount TEXT, "
              "maybe TEXT, txt TEXT, big TEXT, raw BLOB)",
    "postgresql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMPTZ, "
                  "amount NUMERIC(20,6), maybe TEXT, txt TEXT, big TEXT, raw BYTEA)",
    "mysql": "CREATE TABLE {t} (id INTEGER PRIMARY KEY, d DATE, ts DATETIME(6), "
             "amount DECIMAL(20,6), maybe TEXT, txt TEXT, big LONGTEXT, raw LONGBLOB) "
             "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
}


def db_value(backend: str, column: str, value: Any) -> Any:
    """What we insert: SQLite has no date/decimal types (ISO text keeps them exact);
    MariaDB's DATETIME has no zone, so timestamps are stored as UTC."""
    if value is None:
        return None
    if backend == "sqlite" and column in ("d", "ts"):
        return value.isoformat()
    if backend == "sqlite" and column == "amount":
        return str(value)
    if backend == "mysql" and column == "ts":
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, home: HomeBuilder, unique_name: str) -> Iterator[tuple[str, str, str]]:
    """(connection name, backend, table) with ROWS inserted; the table is dropped afterwards."""
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{home.root / 'types.db'}"
    else:
        url = request.getfixturevalue("pg_url" if kind == "postgresql" else "mariadb_url")
    engine = sa.create_engine(url)
    backend = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(sa.text(DDL[backend].format(t=unique_name)))
        cols = list(ROWS[0])
        insert = sa.text(f"INSERT INTO {unique_name} ({', '.join(cols)}) "
                         f"VALUES ({', '.join(':' + c for c in cols)})")
        conn.execute(insert, [{c: db_value(backend, c, r[c]) for c in cols} for r in ROWS])
    home.add_database("db", url, read_only=False)  # test_rows_stream_in_batches writes through it
    try:
        yield "db", backend, unique_name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {unique_name}"))
        engine.dispose()


def fetch_direct(table: str, pstt: Any) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them, without PSTT in between."""
    with pstt.databases.engine("db").connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]


def expected_python(backend: str, row: dict[str, Any]) -> dict[str, Any]:
    """The value the driver must hand back for what was inserted."""
    out = {c: db_value(backend, c, v) for c, v in row.items()}
    if backend == "mysql" and row["ts"] is not None:
        out["ts"] = row["ts"].astimezone(timezone.utc).replace(tzinfo=None)
    if backend == "postgresql" and row["ts"] is not None:
        out["ts"] = row["ts"]  # compared as an instant: aware datetimes compare by UTC
    return out


def test_values_arrive_exactly(database: tuple[str, str, str], home: HomeBuilder,
                               recorder: Recorder) -> None:
    conn, backend, table = database
    query = f"SELECT * FROM {table} ORDER BY id"
    home.add_schedule(id="rec", connection=conn, query=query, sharing_mode="recorder")
    home.add_schedule(id="file", connection=conn, query=query,
                      sink_options={"format": "jsonl", "filename": "out.jsonl"})
    pstt = home.pstt(logs=False)

    record = pstt.run("rec")
    assert record.status == "success", record.error
    assert record.rows == 3
    got = recorder.last()
    assert got.columns == list(ROWS[0])
    assert got.closed and got.aborted is None
    direct = fetch_direct(table, pstt)
    assert got.rows == direct  # nothing lost or converted on the way
    for received, original in zip(got.rows, ROWS, strict=True):
        want = expected_python(backend, original)
        assert dict(zip(got.columns, received, strict=True)) == want
    if backend in ("postgresql", "mysql"):
        first = dict(zip(got.columns, got.rows[0], strict=True))
        assert isinstance(first["amount"], Decimal) and str(first["amount"]) == "12345678901234.123456"
        assert isinstance(first["d"], date) and isinstance(first["raw"], bytes)
    if backend == "postgresql":
        assert got.rows[0][2].utcoffset() is not None
    assert len(got.rows[0][6]) == 1_000_000

    record = pstt.run("file")
    assert record.status == "success", record.error
    lines = (home.root / "exports" / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    for line, row in zip(lines, direct, strict=True):
        obj = json.loads(line)
        assert list(obj) == list(ROWS[0])
        values = dict(zip(obj, row, strict=True))
        for col, value in values.items():
            text = obj[col]
            if value is None:
                assert text is None, col
            elif isinstance(value, bytes):
                assert base64.b64decode(text) == value
            elif isinstance(value, Decimal):
                assert text == str(value) and Decimal(text) == value  # no float rounding
            elif isinstance(value, datetime):
                assert datetime.fromisoformat(text) == value
            elif isinstance(value, date):
                assert date.fromisoformat(text) == value
            else:
                assert text == value, col


def test_rows_stream_in_batches(database: tuple[str, str, str], home: HomeBuilder,
                                recorder: Recorder, unique_name: str) -> None:
    conn, _backend, _table = database
    numbers = unique_name + "_n"
    pstt = home.pstt(logs=False)  # reads the connection of the fixture
    engine = pstt.databases.engine(conn)
    with engine.begin() as c:
        c.execute(sa.text(f"CREATE TABLE {numbers} (i INTEGER PRIMARY KEY, label VARCHAR(20))"))
        c.execute(sa.text(f"INSERT INTO {numbers} VALUES (:i, :label)"),
                  [{"i": i, "label": f"row {i}"} for i in range(1, 2501)])
    query = f"SELECT i, label FROM {numbers} ORDER BY i"
    try:
        _run_batches(home, recorder, conn, query)
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"DROP TABLE {numbers}"))


def _run_batches(home: HomeBuilder, recorder: Recorder, conn: str, query: str) -> None:
    home.add_schedule(id="many", connection=conn, query=query, sharing_mode="recorder",
                      batch_size=1000)
    pstt = home.pstt(logs=False)
    progress: list[int] = []
    record = pstt.run("many", progress=progress.append)
    assert record.status == "success", record.error
    assert record.rows == 2500
    got = recorder.last()
    assert [len(b) for b in got.batches] == [1000, 1000, 500]
    assert progress == [1000, 2000, 2500]
    assert [r[0] for r in got.rows] == list(range(1, 2501))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_run_time_and_last_success_parameters(kind: str, home: HomeBuilder, recorder: Recorder,
                                              request: pytest.FixtureRequest) -> None:
    if kind == "postgresql":
        home.add_database("db", request.getfixturevalue("pg_url"))
        query = "SELECT CAST(:run_time AS timestamptz) AS rt, CAST(:last_success_at AS timestamptz) AS ls"
    else:
        home.add_database("db", f"sqlite:///{home.root / 'p.db'}", create_if_missing=True)
        query = "SELECT :run_time AS rt, :last_success_at AS ls"
    home.add_schedule(id="p", connection="db", query=query, sharing_mode="recorder")
    pstt = home.pstt(logs=False)

    first = pstt.run("p")
    assert first.status == "success", first.error
    run_time, last = recorder.last().rows[0]
    assert last is None  # never succeeded before
    started = datetime.fromisoformat(first.started_at)
    if kind == "postgresql":
        assert run_time == started
    else:
        assert datetime.fromisoformat(str(run_time)).replace(tzinfo=timezone.utc) == started

    second = pstt.run("p")
    assert second.status == "success", second.error
    _run_time, last = recorder.last().rows[0]
    last_dt = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
    if last_dt.tzinfo is None:
        last_dt = last_dt.replace(tzinfo=timezone.utc)
    assert last_dt == started  # the previous successful run's start


def test_unknown_query_parameter_is_a_clear_failure(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="bad", query="SELECT * FROM orders WHERE id > :since_id",
                      sharing_mode="recorder")
    pstt = home.pstt(logs=False)
    record = pstt.run("bad")
    assert record.status == "failed"
    assert record.error == ("the query uses parameter(s) :since_id that PSTT does not provide; "
                            "available: :run_time, :last_success_at, :export_id, :schedule_id")
    assert recorder.received == []  # the sink was never created


def test_metadata_reaches_the_sink(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="meta", query="SELECT id FROM orders WHERE id <= 3", sharing_mode="recorder")
    pstt = home.pstt(logs=False)
    record = pstt.run("meta")
    meta = recorder.last().run.metadata()
    assert meta["export_id"] == record.export_id
    assert meta["source_query"] == "SELECT id FROM orders WHERE id <= 3"
    assert meta["source_connection"] == "demo"
    assert datetime.fromisoformat(meta["export_timestamp"]) == datetime.fromisoformat(record.started_at)
    assert record.extra["recorded_rows"] == 3




def test_empty_result_still_opens_and_closes_the_sink(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="none", query="SELECT id, status FROM orders WHERE id < 0",
                      sharing_mode="recorder")
    record = home.pstt(logs=False, environ={}).run("none")
    assert (record.status, record.rows) == ("success", 0)
    got = recorder.last()
    assert got.columns == ["id", "status"] and got.batches == [] and got.closed


@pytest.mark.parametrize(("read_only", "error"), [
    (True, "SQL error: OperationalError: attempt to write a readonly database"),
    (False, "the query returned no result set (is it a SELECT?)")])
def test_a_statement_without_rows_fails_and_changes_nothing(home: HomeBuilder, recorder: Recorder,
                                                            read_only: bool, error: str) -> None:
    home.connections["databases"][0]["read_only"] = read_only
    home.add_schedule(id="oops", query="DELETE FROM orders", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={})
    record = pstt.run("oops")
    assert record.status == "failed"
    assert record.error == error
    with pstt.databases.engine("demo").connect() as conn:  # the DELETE was rolled back
        assert conn.execute(sa.text("SELECT COUNT(*) FROM orders")).scalar() == 500


def test_run_timeout_fails_the_run_and_aborts_the_sink(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="slow", query="SELECT id FROM orders", batch_size=50, timeout_sec=0.3,
                      sharing_mode="recorder", sink_options={"delay": 0.1})
    record = home.pstt(logs=False, environ={}).run("slow")
    assert record.status == "failed"
    assert record.error is not None
    assert record.error == "timed out after 0.3 s"
    assert 0 < record.rows < 500
    got = recorder.last()
    assert got.aborted is not None and not got.closed


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_one_row_results_on_a_streaming_cursor(kind: str, home: HomeBuilder, recorder: Recorder,
                                               request: pytest.FixtureRequest) -> None:
    """A result smaller than one batch ends the server-side cursor on its first fetch."""
    url = {"sqlite": f"sqlite:///{home.root / 'one.db'}", "postgresql": "pg_url",
           "mariadb": "mariadb_url"}[kind]
    if kind == "sqlite":
        home.add_database("db", url, create_if_missing=True)
    else:
        home.add_database("db", request.getfixturevalue(url))
    home.add_schedule(id="one", connection="db", query="SELECT 1 AS one, 'x' AS letter",
                      sharing_mode="recorder")
    record = home.pstt(logs=False, environ={}).run("one")
    assert record.status == "success", record.error
    assert recorder.last().rows == [(1, "x")]
