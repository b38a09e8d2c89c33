"""Every format through the sink: readable files, history fields, empty results."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import socket

import openpyxl
import pyarrow.parquet as pq
import pytest

from tests.sinks_fs.conftest import FsHome


def count_rows(fmt: str, data: bytes) -> int:
    if fmt == "csv":
        return len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))) - 1
    if fmt == "jsonl":
        return len([json.loads(line) for line in data.decode("utf-8").splitlines()])
    if fmt == "xlsx":
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True).active.max_row - 1
    return int(pq.ParquetFile(io.BytesIO(data)).metadata.num_rows)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx", "parquet"])
def test_each_format_writes_every_row_and_records_history_fields(fs: FsHome, fmt: str) -> None:
    fs.schedule(format=fmt, directory="reports", filename="orders.{ext}", batch_size=128)
    record = fs.run()
    assert record.status == "success", record.error
    assert record.rows == 500
    path = fs.exports / "reports" / f"orders.{fmt}"
    assert record.extra == {"path": f"reports/orders.{fmt}", "file_bytes": path.stat().st_size,
                            "format": fmt, "rows_delivered": 500, "pid": os.getpid(),
                            "host": socket.gethostname()}
    assert count_rows(fmt, path.read_bytes()) == 500
    stored = fs.pstt.history.get(record.export_id)
    assert stored is not None
    assert (stored["path"], stored["file_bytes"], stored["format"]) == \
        (f"reports/orders.{fmt}", path.stat().st_size, fmt)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx", "parquet"])
def test_empty_result_gives_a_valid_file(fs: FsHome, fmt: str) -> None:
    fs.schedule(format=fmt, filename="empty.{ext}", query="SELECT id, status FROM orders WHERE 0")
    record = fs.run()
    assert record.status == "success", record.error
    assert record.rows == 0
    data = (fs.exports / f"empty.{fmt}").read_bytes()
    assert count_rows(fmt, data) == 0
    if fmt == "csv":
        assert data == b"id,status\r\n"
    if fmt == "parquet":
        assert pq.ParquetFile(io.BytesIO(data)).schema_arrow.names == ["id", "status"]


def test_csv_options_reach_the_file(fs: FsHome) -> None:
    fs.schedule(filename="o.csv", delimiter=";", quoting="all", encoding="utf-8-sig",
                header=False, null="NULL", gzip=True,
                query="SELECT id, note FROM orders WHERE id <= 3 ORDER BY id")
    record = fs.run()
    data = gzip.decompress((fs.exports / "o.csv.gz").read_bytes())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert all(r[1] for r in rows)  # NULL notes are written as the NULL text
    assert b'"1";' in data
    assert record.extra["format"] == "csv"


def test_xlsx_row_limit_fails_the_run_with_a_clear_error(fs: FsHome) -> None:
    fs.schedule(format="xlsx", filename="big.xlsx", batch_size=1_100_000,
                query="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                      "WHERE i < 1048576) SELECT i FROM n")
    record = fs.run()
    assert record.status == "failed"
    assert "at most 1,048,576 rows" in (record.error or "")
    assert "use CSV" in (record.error or "")
    assert fs.files() == []
