"""Files people open in Excel, through the sink on the demo database: the excel-it CSV and
the XLSX with dates, a frozen header and a filter."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from pstt_core import ConfigError
from pstt_core.web.forms import sink_schema
from tests.core.formats.test_csv_locale import it_number
from tests.sinks_fs.conftest import FsHome

QUERY = "SELECT id, amount, status, ordered_at FROM orders WHERE id <= 40 ORDER BY id"


def demo_rows(fs: FsHome) -> list[tuple[int, object, str, str]]:
    con = sqlite3.connect(fs.root / "demo.db")
    try:
        return list(con.execute(QUERY))
    finally:
        con.close()


def test_excel_it_csv_reads_back_with_the_csv_module_and_a_decimal_comma_parser(fs: FsHome) -> None:
    fs.schedule(locale="excel-it", filename="vendite.csv", query=QUERY)
    record = fs.run()
    assert record.status == "success", record.error
    data = (fs.exports / "vendite.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid;amount;status;ordered_at\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    expected = demo_rows(fs)
    assert len(rows) == 1 + len(expected) == 41
    assert any("," in r[1] for r in rows[1:])  # the demo has amounts with cents
    for got, (oid, amount, status, ordered_at) in zip(rows[1:], expected, strict=True):
        assert int(got[0]) == oid
        assert it_number(got[1]) == Decimal(str(amount))
        assert (got[2], got[3]) == (status, ordered_at)


def test_excel_it_is_offered_and_checked_when_the_schedule_is_saved(fs: FsHome) -> None:
    options = {o["name"]: o for o in sink_schema(fs.pstt.registry.sinks["filesystem"])["options"]}
    assert options["locale"]["choices"] == ["excel-it", "excel"]
    assert options["locale"]["widget"] == "select" and not options["locale"]["advanced"]
    with pytest.raises(ConfigError, match="unknown locale 'excel-de'") as err:
        fs.schedule(locale="excel-de")
    assert err.value.path == "$.sink_options.locale"
    with pytest.raises(ConfigError, match="also the delimiter") as err:
        fs.schedule(decimal_separator=",")
    assert err.value.path == "$.sink_options.decimal_separator"


def test_xlsx_has_date_cells_a_frozen_header_and_a_filter(fs: FsHome) -> None:
    fs.schedule(format="xlsx", filename="ordini.xlsx", query=QUERY, batch_size=16)
    record = fs.run()
    assert record.status == "success", record.error
    ws = openpyxl.load_workbook(fs.exports / "ordini.xlsx").active
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:D41"
    expected = demo_rows(fs)
    for row, (oid, _amount, status, ordered_at) in zip(ws.iter_rows(min_row=2), expected,
                                                      strict=True):
        assert row[0].value == oid and row[2].value == status
        # SQLite keeps the timestamps as ISO text with an offset: a date cell, wall time.
        assert row[3].is_date, row[3].value
        assert row[3].value == datetime.fromisoformat(ordered_at).replace(tzinfo=None)
    assert ws.column_dimensions["D"].width == pytest.approx(20, abs=0.8)
