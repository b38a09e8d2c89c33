"""Atomic publication: no file under the final name until the run succeeds; failures leave
nothing; existing files are kept unless overwrite is set."""

from __future__ import annotations

import csv
import time

from tests.sinks_fs.conftest import FsHome

# Fails inside SQLite after 300 rows (integer overflow), i.e. mid-stream.
FAILING_QUERY = ("SELECT id, CASE WHEN id > 300 THEN abs(-9223372036854775807 - 1) ELSE id END "
                 "AS v FROM orders ORDER BY id")


def test_final_name_appears_only_when_the_run_is_complete(fs: FsHome) -> None:
    fs.schedule(filename="orders.csv", batch_size=100)
    seen: list[list[str]] = []
    record = fs.run(progress=lambda rows: seen.append(fs.files()))
    assert record.status == "success"
    assert len(seen) == 5  # 500 rows in batches of 100
    for listing in seen:
        assert "orders.csv" not in listing
        assert len(listing) == 1 and listing[0].startswith(".orders.csv.")
        assert listing[0].endswith(".partial")
    assert fs.files() == ["orders.csv"]
    with open(fs.exports / "orders.csv", newline="", encoding="utf-8") as fh:
        assert len(list(csv.reader(fh))) == 501


def test_failed_run_leaves_neither_file_nor_temp_file(fs: FsHome) -> None:
    fs.schedule(query=FAILING_QUERY, filename="orders.csv", batch_size=100)
    progress: list[int] = []
    record = fs.run(progress=progress.append)
    assert record.status == "failed"
    assert "integer overflow" in (record.error or "")
    # Batches reached the temp file before the failure (sqlite reads one row ahead).
    assert progress[:2] == [100, 200]
    assert fs.files() == []


def test_failure_inside_the_sink_leaves_nothing(fs: FsHome) -> None:
    fs.schedule(format="csv", encoding="latin-1", filename="x.csv", batch_size=50,
                query="SELECT id, CASE WHEN id = 120 THEN '東京' ELSE 'ok' END AS city "
                      "FROM orders ORDER BY id")
    record = fs.run()
    assert record.status == "failed"
    assert "cannot be written in encoding 'latin-1'" in (record.error or "")
    assert fs.files() == []


def test_existing_file_without_overwrite_fails_clearly_and_is_kept(fs: FsHome) -> None:
    (fs.exports / "orders.csv").write_text("precious\n", encoding="utf-8")
    fs.schedule(filename="orders.csv")
    record = fs.run()
    assert record.status == "failed"
    assert "'orders.csv' already exists" in (record.error or "")
    assert "overwrite" in (record.error or "")
    assert (fs.exports / "orders.csv").read_text(encoding="utf-8") == "precious\n"
    assert fs.files() == ["orders.csv"]


def test_existing_file_with_overwrite_is_replaced(fs: FsHome) -> None:
    (fs.exports / "orders.csv").write_text("old\n", encoding="utf-8")
    fs.schedule(filename="orders.csv", overwrite=True)
    record = fs.run()
    assert record.status == "success"
    with open(fs.exports / "orders.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["id", "customer_id"] and len(rows) == 501
    assert record.extra["file_bytes"] == (fs.exports / "orders.csv").stat().st_size
    assert fs.files() == ["orders.csv"]


def test_second_run_with_a_fixed_name_fails_without_overwrite(fs: FsHome) -> None:
    fs.schedule(filename="daily.csv")
    assert fs.run().status == "success"
    first = (fs.exports / "daily.csv").read_bytes()
    again = fs.run()
    assert again.status == "failed" and "already exists" in (again.error or "")
    assert (fs.exports / "daily.csv").read_bytes() == first


def test_timed_out_run_leaves_nothing(fs: FsHome) -> None:
    fs.pstt.create_schedule({
        "id": "slow", "name": "slow", "connection": "demo", "query": "SELECT * FROM orders",
        "trigger": {"type": "interval", "seconds": 3600}, "sharing_mode": "filesystem",
        "enabled": False, "batch_size": 100, "timeout_sec": 0.05,
        "sink_options": {"filename": "slow.csv"}})
    record = fs.run("slow", progress=lambda rows: time.sleep(0.06))
    assert record.status == "failed"
    assert record.error == "timed out after 0.05 s"
    assert fs.files() == []
