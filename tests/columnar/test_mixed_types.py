"""SQLite columns whose values change storage class part-way through the result.

The ADBC SQLite driver infers each column's Arrow type from the first batch; a later value of
another class (text after integers, text after NULLs, a real after integers) used to fail the
read mid-stream, and values of two classes inside one batch were converted (a real in a text
column became ``3.333333e-01``). The run must give what the row path gives, on the file sink
and on Kafka: the columnar reader checks the whole result's storage classes first, in the
same read transaction, and such a result takes the row path before anything is delivered.
Real SQLite files, the real broker.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

import pstt_core.columnar.source as source_module
from tests.columnar.test_same_values import (
    assert_same_csv,
    assert_same_jsonl,
    assert_same_messages,
    messages,
    read_csv,
    run_both,
)
from tests.conftest import HomeBuilder
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import kafka_home

ROWS = 3000
SWITCH = 2100  # the first row of the other storage class (batch_size 1000: the third batch)


def value(case: str, i: int) -> Any:
    late = i >= SWITCH
    if case == "int_then_text":
        return f"code-{i}" if late else i
    if case == "nulls_then_text":
        return f"note {i}" if late else None
    if case == "int_then_real":
        return i + 0.25 if late else i
    if case == "real_and_text_in_one_batch":  # converted, not refused: 1/3 as '3.333333e-01'
        return (i / 3) if i % 2 else f"t{i}"
    if case == "int_and_real_in_one_batch":  # 2**62 + 1 as a float loses its last digits
        return 2**62 + i if i % 2 else i + 0.5
    if case == "blob_then_text":
        return f"text {i}" if late else bytes([i % 256, 0, 255])
    raise AssertionError(case)


CASES = ["int_then_text", "nulls_then_text", "int_then_real", "real_and_text_in_one_batch",
         "int_and_real_in_one_batch", "blob_then_text"]


def mixed_db(path: Path, case: str, rows: int = ROWS) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v, label TEXT)")  # v: no affinity
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    [(i, value(case, i), f"row {i}") for i in range(rows)])
    con.commit()
    con.close()


def on_mixed(home: HomeBuilder, tmp_path: Path, case: str, rows: int = ROWS) -> HomeBuilder:
    mixed_db(tmp_path / "mixed.db", case, rows)
    home.add_database("mixed", f"sqlite:///{tmp_path / 'mixed.db'}")
    return home


QUERY = "SELECT id, v, label FROM t ORDER BY id"
ROW_PATH_LINE = "hold SQLite values of more than one type"
RESTARTED = "run restarted on the row path"


def messages_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("case", CASES)
def test_a_file_export_gives_the_row_paths_file(home: HomeBuilder, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture,
                                                 case: str, fmt: str) -> None:
    """The file is published only when the sink closes: the check runs after the read, and a
    mixed result is read again on the row path (the Arrow output is never published)."""
    on_mixed(home, tmp_path, case)
    pstt, fast, ref = run_both(home, {"format": fmt}, caplog, "mixed", QUERY, batch_size=1000)
    pstt.close()
    assert fast.rows == ref.rows == ROWS
    assert fast.extra["rows_delivered"] == ROWS
    exports = home.root / "exports"
    assert (exports / f"auto.{fmt}").read_bytes() == (exports / f"off.{fmt}").read_bytes()
    assert list(exports.rglob("*.partial")) == [] and not list(exports.glob("*.tmp*"))
    note = fast.extra["columnar_fallback"]
    assert f"column(s) v {ROW_PATH_LINE}" in note or "refused a value of column v " in note, note
    assert RESTARTED in note
    assert "columnar_fallback" not in ref.extra


def test_the_default_batch_size_and_a_switch_after_70000_rows(
        home: HomeBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    global SWITCH
    old, SWITCH = SWITCH, 70_000
    try:
        on_mixed(home, tmp_path, "int_then_text", rows=100_000)
    finally:
        SWITCH = old
    pstt, fast, ref = run_both(home, {}, caplog, "mixed", QUERY, batch_size=65_536)
    pstt.close()
    exports = home.root / "exports"
    assert fast.rows == 100_000 and RESTARTED in fast.extra["columnar_fallback"]
    assert (exports / "auto.csv").read_bytes() == (exports / "off.csv").read_bytes()


@pytest.mark.parametrize("case", ["int_then_text", "real_and_text_in_one_batch"])
def test_a_wal_database_is_checked_in_the_reads_transaction(
        home: HomeBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str) -> None:
    """In WAL mode a second connection could see a later write, so the check runs on the
    read's own connection after the read (elsewhere it runs beside the read)."""
    on_mixed(home, tmp_path, case)
    con = sqlite3.connect(tmp_path / "mixed.db")
    assert con.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    con.close()
    pstt, fast, ref = run_both(home, {}, caplog, "mixed", QUERY, batch_size=1000)
    pstt.close()
    exports = home.root / "exports"
    assert (exports / "auto.csv").read_bytes() == (exports / "off.csv").read_bytes()
    assert RESTARTED in fast.extra["columnar_fallback"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_integers_among_reals_keep_the_columnar_path(
        home: HomeBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture, fmt: str) -> None:
    """A NUMERIC / DECIMAL column stores 12.0 as the integer 12: in the driver's double
    column such integers (up to 2**53) are the same numbers, so the columnar path stays —
    CSV cells read back alike, JSON values equal after parsing (12.0 for 12)."""
    con = sqlite3.connect(tmp_path / "amounts.db")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(10, 2))")
    con.executemany("INSERT INTO t VALUES (?, ?)",
                    [(i, None if i % 9 == 0 else i * 0.5) for i in range(ROWS)])  # 1.0 → 1
    con.commit()
    con.close()
    assert {r[0] for r in sqlite3.connect(tmp_path / "amounts.db").execute(
        "SELECT DISTINCT typeof(amount) FROM t")} == {"integer", "real", "null"}
    home.add_database("amounts", f"sqlite:///{tmp_path / 'amounts.db'}")
    query = "SELECT id, amount FROM t ORDER BY id"
    pstt, fast, ref = run_both(home, {"format": fmt}, caplog, "amounts", query, batch_size=1000)
    pstt.close()
    assert "columnar_fallback" not in fast.extra
    if fmt == "csv":
        assert_same_csv(read_csv(home.root / "exports" / "auto.csv"),
                        read_csv(home.root / "exports" / "off.csv"))
    else:
        assert_same_jsonl(home.root / "exports", rows=ROWS)


def test_one_storage_class_per_column_keeps_the_columnar_path(
        home: HomeBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """NULLs in any column and an all-NULL column are one class: still the columnar path."""
    con = sqlite3.connect(tmp_path / "plain.db")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v, label TEXT, empty)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, NULL)",
                    [(i, None if i % 3 else i * 0.5, None if i % 5 else f"r{i}") for i in range(ROWS)])
    con.commit()
    con.close()
    home.add_database("plain", f"sqlite:///{tmp_path / 'plain.db'}")
    pstt, fast, ref = run_both(home, {}, caplog, "plain", "SELECT * FROM t ORDER BY id",
                               batch_size=1000)
    pstt.close()
    assert fast.rows == ref.rows == ROWS and "columnar_fallback" not in fast.extra


def test_a_query_the_check_cannot_wrap_is_written_by_the_row_path(
        home: HomeBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A trailing ``; -- comment`` is one statement to PSTT but not inside the check's
    ``WITH … AS (…)``: the check fails, and the row path writes the file (never a failed run,
    never an unchecked Arrow result)."""
    con = sqlite3.connect(tmp_path / "one.db")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v, label TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, i * 2, f"row {i}") for i in range(ROWS)])
    con.commit()
    con.close()
    home.add_database("one", f"sqlite:///{tmp_path / 'one.db'}")
    pstt, fast, ref = run_both(home, {}, caplog, "one", QUERY + "; -- the orders", batch_size=1000)
    pstt.close()
    exports = home.root / "exports"
    assert (exports / "auto.csv").read_bytes() == (exports / "off.csv").read_bytes()
    assert "the storage-class check could not run" in fast.extra["columnar_fallback"]


@pytest.fixture
def topic() -> str:
    return "t-" + uuid.uuid4().hex[:12]


@pytest.mark.kafka
@pytest.mark.parametrize("case", ["int_then_text", "nulls_then_text", "int_then_real",
                                  "real_and_text_in_one_batch"])
def test_a_kafka_export_gives_the_row_paths_messages(home: HomeBuilder, tmp_path: Path,
                                                      kafka_broker: Any, topic: str,
                                                      caplog: pytest.LogCaptureFixture,
                                                      case: str) -> None:
    """Kafka publishes as it writes: the check runs before the first message, and a mixed
    result takes the row path from the start."""
    on_mixed(home, tmp_path, case)
    kafka_home(home, kafka_broker.bootstrap)
    options = {"connection": "local", "topic": topic, "key_field": "id"}
    pstt, fast, ref = run_both(home, options, caplog, "mixed", QUERY, sharing_mode="kafka",
                               batch_size=1000, columnar_expected=False)
    pstt.close()
    home.add_schedule(id="again", connection="mixed", query=QUERY, sharing_mode="kafka",
                      batch_size=1000, sink_options={**options, "topic": f"{topic}-again"})
    pstt = home.pstt(environ={"PSTT_COLUMNAR": "auto"}, logs=False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pstt.pipeline"):
        again = pstt.run("again")
    pstt.close()
    assert again.status == "success" and "columnar_fallback" not in again.extra
    log = messages_of(caplog)
    assert any(f"takes the row path: column(s) v {ROW_PATH_LINE}" in m for m in log), log
    assert fast.extra["kafka_messages_sent"] == ref.extra["kafka_messages_sent"] == ROWS
    got = messages(kafka_broker.bootstrap, f"{topic}-auto", ROWS)
    assert_same_messages(got, messages(kafka_broker.bootstrap, f"{topic}-off", ROWS))
    assert sorted(v["id"] for _, v in got) == list(range(ROWS))  # none lost, none twice


# --- if the driver refuses a value anyway (the check above prevents it) ---------------------

@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the storage-class check away, so the driver meets the other class mid-stream."""
    monkeypatch.setattr(source_module, "storage_check", lambda sql, schema: None)


def test_a_refused_file_export_restarts_on_the_row_path(
        home: HomeBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        unchecked: None) -> None:
    on_mixed(home, tmp_path, "int_then_text")
    pstt, fast, ref = run_both(home, {}, caplog, "mixed", QUERY, batch_size=1000)
    pstt.close()
    exports = home.root / "exports"
    assert (exports / "auto.csv").read_bytes() == (exports / "off.csv").read_bytes()
    assert fast.rows == ROWS and fast.extra["rows_delivered"] == ROWS
    assert "the SQLite driver refused a value of column v" in fast.extra["columnar_fallback"]
    assert RESTARTED in fast.extra["columnar_fallback"]
    assert list(exports.rglob("*.partial")) == []


@pytest.mark.kafka
def test_a_refused_kafka_export_fails_honestly(home: HomeBuilder, tmp_path: Path,
                                               kafka_broker: Any, topic: str,
                                               caplog: pytest.LogCaptureFixture,
                                               unchecked: None) -> None:
    """Messages already produced cannot be taken back: no restart (which would send them
    twice); the run fails and says how many were delivered."""
    on_mixed(home, tmp_path, "int_then_text")
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="k", connection="mixed", query=QUERY, sharing_mode="kafka",
                      batch_size=1000, sink_options={"connection": "local", "topic": topic})
    pstt = home.pstt(environ={"PSTT_COLUMNAR": "auto"}, logs=False)
    record = pstt.run("k")
    pstt.close()
    assert record.status == "failed"
    assert "refused" in (record.error or "") and "not restarted" in (record.error or "")
    sent = record.extra["kafka_messages_sent"]
    assert sent == record.extra["rows_delivered"] == SWITCH // 1000 * 1000
    got = [json.loads(m.value()) for m in consume_all(kafka_broker.bootstrap, topic, expected=sent)]
    assert sorted(v["id"] for v in got) == list(range(sent))
