"""The columnar path writes what the row path writes: the type matrix through both paths.

Each case runs one schedule twice on the same home — ``PSTT_COLUMNAR=auto`` (checked to have
read Arrow batches) and ``off`` (the row path, the reference) — and compares the outputs:
CSV cells read back to the same values, JSON Lines objects and Kafka messages equal after
parsing, Parquet tables equal. Real SQLite files, the real PostgreSQL service and broker.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import sqlite3
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from pstt_core import Pstt
from tests.conftest import HomeBuilder
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import kafka_home

BIG = "ß東京🎉" * 87_382  # about 1 MB of UTF-8 text
TRICKY = ['say "hi"', "a,b", "multi\nline", "cr\rlf\r\n", "tab\tx", "", " lead", "ctl\x01\x1f",
          "back\\slash", "emoji 🎉 CJK 東京 ß", "'quoted'", ";semi"]
csv.field_size_limit(1 << 24)  # the 1 MB text cell
FLOATS = [0.1, 1e300, 1.0, -0.0, 2.5, 1e-05, 123456789.123, -1e-300, 1e16, 3.0]


def sqlite_db(path: Path, rows: int = 30) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, f REAL, s TEXT, b BLOB, "
                "d TEXT, flag INTEGER, big TEXT, empty TEXT)")
    data = []
    for i in range(rows):
        data.append((i, None if i % 5 == 0 else (i - 15) * 10**12, None if i % 7 == 0 else FLOATS[i % len(FLOATS)],
                     None if i % 6 == 0 else TRICKY[i % len(TRICKY)],
                     None if i % 4 == 0 else bytes([i, 0, 255, 10]),
                     f"2026-01-{1 + i % 28:02d} 08:00:0{i % 10}+01:00", i % 2,
                     BIG if i == 3 else None, None))
    con.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?)", data)
    con.commit()
    con.close()


def run_both(home: HomeBuilder, options: dict[str, Any], caplog: pytest.LogCaptureFixture,
             connection: str, query: str, sharing_mode: str = "filesystem",
             batch_size: int = 7, columnar_expected: bool = True,
             **env: str) -> tuple[Pstt, Any, Any]:
    """Run the schedule with the columnar path on, then off; both records."""
    records = []
    pstt = None
    for mode in ("auto", "off"):
        sid = f"s_{mode}"
        opts = dict(options)
        if sharing_mode == "filesystem":
            opts["filename"] = f"{mode}.{opts.get('format', 'csv')}"
        else:
            opts["topic"] = f"{opts['topic']}-{mode}"
        home.add_schedule(id=sid, connection=connection, query=query, enabled=False,
                          sharing_mode=sharing_mode, batch_size=batch_size, sink_options=opts)
        pstt = home.pstt(environ={"PSTT_COLUMNAR": mode, **env}, logs=False)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="pstt.pipeline"):
            record = pstt.run(sid)
        assert record.status == "success", record.error
        columnar = any("columnar path" in r.getMessage() for r in caplog.records)
        assert columnar == (mode == "auto" and columnar_expected), \
            f"{mode}: {[r.getMessage() for r in caplog.records]}"
        records.append(record)
        if mode == "auto":
            pstt.close()
    assert pstt is not None
    return pstt, records[0], records[1]


def same_cell(a: str, b: str) -> bool:
    if a == b:
        return True
    try:  # floats: Arrow's shortest digits may differ in form from Python's (docs/FILESYSTEM.md)
        return float(a) == float(b)
    except ValueError:
        return False


def read_csv(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[list[str]]:
    with open(path, newline="", encoding=encoding) as fh:
        return list(csv.reader(fh, delimiter=delimiter))


def assert_same_csv(fast: list[list[str]], rows: list[list[str]]) -> None:
    assert len(fast) == len(rows)
    for a, b in zip(fast, rows, strict=True):
        assert len(a) == len(b)
        assert all(same_cell(x, y) for x, y in zip(a, b, strict=True)), (a, b)


def same_json(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    return bool(a == b) and type(a) in (type(b), int, float) and type(b) in (type(a), int, float)


def jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def assert_same_jsonl(exports: Path, rows: int = 30) -> None:
    fast, ref = jsonl(exports / "auto.jsonl"), jsonl(exports / "off.jsonl")
    assert len(fast) == len(ref) == rows
    for a, b in zip(fast, ref, strict=True):
        assert same_json(a, b), (a, b)


@pytest.fixture
def sq(home: HomeBuilder, tmp_path: Path) -> HomeBuilder:
    sqlite_db(tmp_path / "types.db")
    home.add_database("types", f"sqlite:///{tmp_path / 'types.db'}")
    return home


SQ_QUERY = "SELECT * FROM t ORDER BY id"


@pytest.mark.parametrize("options", [
    {}, {"delimiter": ";"}, {"quoting": "all"}, {"encoding": "utf-8-sig"}, {"header": False},
    {"null": "NULL"}, {"gzip": True}])
def test_sqlite_csv_cells_are_the_same(sq: HomeBuilder, caplog: pytest.LogCaptureFixture,
                                       options: dict[str, Any]) -> None:
    import gzip
    _, fast, ref = run_both(sq, {"format": "csv", **options}, caplog, "types", SQ_QUERY)
    assert fast.rows == ref.rows == 30
    exports = sq.root / "exports"
    if options.get("gzip"):
        a = gzip.decompress((exports / "auto.csv.gz").read_bytes()).decode()
        b = gzip.decompress((exports / "off.csv.gz").read_bytes()).decode()
        assert_same_csv(list(csv.reader(io.StringIO(a, newline=""))),
                        list(csv.reader(io.StringIO(b, newline=""))))
        return
    raw_a, raw_b = (exports / "auto.csv").read_bytes(), (exports / "off.csv").read_bytes()
    # one BOM, at the start, for utf-8-sig (and none otherwise)
    assert raw_a.startswith(b"\xef\xbb\xbf") == raw_b.startswith(b"\xef\xbb\xbf")
    assert raw_a.count(b"\xef\xbb\xbf") == raw_b.count(b"\xef\xbb\xbf")
    encoding = options.get("encoding", "utf-8")
    delimiter = options.get("delimiter", ",")
    assert_same_csv(read_csv(exports / "auto.csv", encoding, delimiter),
                    read_csv(exports / "off.csv", encoding, delimiter))


def test_sqlite_csv_header_and_plain_values_are_byte_identical(
        sq: HomeBuilder, caplog: pytest.LogCaptureFixture) -> None:
    """Documented difference: text cells are quoted; numbers and the header are not."""
    run_both(sq, {"format": "csv"}, caplog, "types", "SELECT id, n FROM t ORDER BY id")
    exports = sq.root / "exports"
    assert (exports / "auto.csv").read_bytes() == (exports / "off.csv").read_bytes()


def test_sqlite_jsonl_objects_are_the_same(sq: HomeBuilder, caplog: pytest.LogCaptureFixture) -> None:
    run_both(sq, {"format": "jsonl"}, caplog, "types", SQ_QUERY)
    assert_same_jsonl(sq.root / "exports")


def test_sqlite_parquet_tables_are_the_same(sq: HomeBuilder, caplog: pytest.LogCaptureFixture) -> None:
    run_both(sq, {"format": "parquet"}, caplog, "types", SQ_QUERY)
    exports = sq.root / "exports"
    fast = pq.read_table(exports / "auto.parquet").to_pylist()
    ref = pq.read_table(exports / "off.parquet").to_pylist()
    assert fast == ref


def test_xlsx_and_unknown_options_keep_the_row_path(sq: HomeBuilder,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    for n, options in enumerate([{"format": "xlsx"}, {"format": "csv", "quoting": "none"},
                                 {"format": "csv", "quoting": "nonnumeric"},
                                 {"format": "csv", "encoding": "latin-1"},
                                 {"format": "csv", "locale": "excel-it"},
                                 {"format": "csv", "decimal_separator": ",", "delimiter": ";"}]):
        sid = f"r{n}"
        sq.add_schedule(id=sid, connection="types", query="SELECT id, n FROM t", enabled=False,
                        sink_options={**options, "filename": f"{sid}.{options['format']}"})
        pstt = sq.pstt(environ={"PSTT_COLUMNAR": "auto"}, logs=False)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="pstt.pipeline"):
            record = pstt.run(sid)
        pstt.close()
        assert record.status == "success", record.error
        assert not any("columnar path" in r.getMessage() for r in caplog.records), options


# --- PostgreSQL -----------------------------------------------------------------------------

PG_COLUMNS = ("id int, d date, ts timestamp, tz timestamptz, t time, amount numeric(38,10), "
              "f float8, r float4, s text, b bytea, flag boolean, big text")


@pytest.fixture
def pg(home: HomeBuilder, pg_url: str, unique_name: str) -> Any:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {unique_name} ({PG_COLUMNS})"))
        rows = []
        amounts = [Decimal("0"), Decimal("12345678.5"), Decimal("-0.0000000001"),
                   Decimal("9999999999999999999999999999.9999999999")]
        specials = {4: math.nan, 8: math.inf, 13: -math.inf}
        for i in range(30):
            def nul(value: Any, every: int, i: int = i) -> Any:
                return None if i % every == 0 else value
            rows.append({
                "id": i, "d": nul(date(2026, 1, 1 + i % 28), 5),
                "ts": nul(datetime(2026, 1, 31, 8, 0, i % 10, i * 1000 % 1_000_000), 6),
                "tz": nul(datetime(2026, 3, 29, i % 10, 30, tzinfo=timezone(timedelta(hours=i % 3))), 7),
                "t": nul(time(8, i % 10, 5, 0 if i % 2 else 250), 4),
                "amount": nul(amounts[i % 4], 3),
                "f": nul(specials.get(i, FLOATS[i % len(FLOATS)]), 9), "r": nul(0.1, 8),
                "s": nul(TRICKY[i % len(TRICKY)].replace("\x00", ""), 6),
                "b": nul(bytes([i, 0, 255, 10]), 4), "flag": nul(i % 2 == 0, 5),
                "big": BIG if i == 3 else None})
        names = [c.split()[0] for c in PG_COLUMNS.split(", ")]
        conn.execute(sa.text(f"INSERT INTO {unique_name} VALUES ("
                             + ", ".join(":" + n for n in names) + ")"), rows)
    home.add_database("pg", pg_url)
    yield unique_name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {unique_name}"))
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("options", [{}, {"quoting": "all"}, {"encoding": "utf-8-sig"}])
def test_postgres_csv_cells_are_the_same(home: HomeBuilder, pg: str, options: dict[str, Any],
                                         caplog: pytest.LogCaptureFixture) -> None:
    run_both(home, {"format": "csv", **options}, caplog, "pg", f"SELECT * FROM {pg} ORDER BY id")
    exports = home.root / "exports"
    encoding = options.get("encoding", "utf-8")
    assert_same_csv(read_csv(exports / "auto.csv", encoding), read_csv(exports / "off.csv", encoding))


@pytest.mark.postgres
def test_postgres_jsonl_objects_are_the_same(home: HomeBuilder, pg: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    run_both(home, {"format": "jsonl"}, caplog, "pg", f"SELECT * FROM {pg} ORDER BY id")
    assert_same_jsonl(home.root / "exports")


@pytest.mark.postgres
def test_postgres_query_parameters_bind_alike(home: HomeBuilder, pg: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    query = (f"SELECT id, :export_id AS export_id, tz < :run_time AS before FROM {pg} "
             "WHERE s LIKE '%a%' ORDER BY id")
    # parameters are bound per dialect on SQLAlchemy's connection: such a query keeps the row
    # path, with the columnar path on or off
    run_both(home, {"format": "jsonl"}, caplog, "pg", query, columnar_expected=False)
    exports = home.root / "exports"
    fast, ref = jsonl(exports / "auto.jsonl"), jsonl(exports / "off.jsonl")
    assert [r["id"] for r in fast] == [r["id"] for r in ref] and ref
    assert [r["before"] for r in fast] == [r["before"] for r in ref]
    assert {r["export_id"] for r in fast} != {r["export_id"] for r in ref}  # each run's own id


@pytest.mark.postgres
def test_postgres_types_the_columnar_path_does_not_render_keep_the_row_path(
        home: HomeBuilder, pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    home.add_database("pg", pg_url)
    query = "SELECT 1 AS id, '{\"k\": [1]}'::jsonb AS j, gen_random_uuid() AS u, '1 day'::interval AS i"
    home.add_schedule(id="j", connection="pg", query=query, enabled=False,
                      sink_options={"format": "jsonl", "filename": "j.jsonl"})
    pstt = home.pstt(environ={"PSTT_COLUMNAR": "auto"}, logs=False)
    with caplog.at_level(logging.INFO, logger="pstt.pipeline"):
        record = pstt.run("j")
    pstt.close()
    assert record.status == "success", record.error
    messages = [r.getMessage() for r in caplog.records]
    assert any("takes the row path: column(s) j" in m for m in messages), messages
    obj = json.loads((home.root / "exports" / "j.jsonl").read_text("utf-8"))
    assert obj["j"] == {"k": [1]} and uuid.UUID(obj["u"])


# --- Kafka ----------------------------------------------------------------------------------

@pytest.fixture
def topic() -> str:
    return "t-" + uuid.uuid4().hex[:12]


def messages(bootstrap: str, topic: str, n: int) -> list[tuple[bytes | None, Any]]:
    return [(m.key(), json.loads(m.value())) for m in consume_all(bootstrap, topic, expected=n)]


def assert_same_messages(fast: list[tuple[bytes | None, Any]],
                         ref: list[tuple[bytes | None, Any]]) -> None:
    assert len(fast) == len(ref)
    by_key_fast = sorted(fast, key=lambda m: json.dumps(m[1]["id"] if "id" in m[1] else m[1]["data"]["id"]))
    by_key_ref = sorted(ref, key=lambda m: json.dumps(m[1]["id"] if "id" in m[1] else m[1]["data"]["id"]))
    for (ka, va), (kb, vb) in zip(by_key_fast, by_key_ref, strict=True):
        assert ka == kb
        if "metadata" in va:
            assert va["metadata"].keys() == vb["metadata"].keys()
            va, vb = va["data"], vb["data"]
        assert same_json(va, vb), (va, vb)


@pytest.mark.kafka
@pytest.mark.parametrize("key_field", ["id", "s", "f", None])
def test_sqlite_kafka_messages_are_the_same(sq: HomeBuilder, kafka_broker: Any, topic: str,
                                            caplog: pytest.LogCaptureFixture,
                                            key_field: str | None) -> None:
    kafka_home(sq, kafka_broker.bootstrap)
    options: dict[str, Any] = {"connection": "local", "topic": topic, "batch_size": 4}
    if key_field:
        options["key_field"] = key_field
    query = "SELECT id, n, f, s, b, d, flag, empty, id AS id FROM t ORDER BY id"  # a repeated name
    pstt, fast, ref = run_both(sq, options, caplog, "types", query, sharing_mode="kafka")
    pstt.close()
    assert fast.extra["kafka_messages_sent"] == ref.extra["kafka_messages_sent"] == 30
    assert_same_messages(messages(kafka_broker.bootstrap, f"{topic}-auto", 30),
                         messages(kafka_broker.bootstrap, f"{topic}-off", 30))


@pytest.mark.kafka
@pytest.mark.postgres
def test_postgres_kafka_messages_with_metadata_are_the_same(
        home: HomeBuilder, pg: str, kafka_broker: Any, topic: str,
        caplog: pytest.LogCaptureFixture) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    options = {"connection": "local", "topic": topic, "key_field": "amount", "include_metadata": True}
    query = f"SELECT id, d, ts, tz, t, amount, f, r, s, b, flag FROM {pg} ORDER BY id"
    pstt, _, _ = run_both(home, options, caplog, "pg", query, sharing_mode="kafka")
    pstt.close()
    assert_same_messages(messages(kafka_broker.bootstrap, f"{topic}-auto", 30),
                         messages(kafka_broker.bootstrap, f"{topic}-off", 30))
