"""XLSX format read back with openpyxl."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import openpyxl
import pytest

from pstt_core.formats.xlsx import MAX_ROWS, MAX_TEXT
from tests.core.formats.conftest import render


def sheet(data: bytes):  # type: ignore[no-untyped-def]
    book = openpyxl.load_workbook(io.BytesIO(data))
    return book, book.active


def test_values_dates_and_header() -> None:
    rome = timezone(timedelta(hours=1))
    rows = [(1, "Müller", 2.5, True, None, Decimal("12.50"), datetime(2026, 1, 31, 8, 15, 0, tzinfo=rome),
             date(2026, 2, 1), time(13, 45, 30), "=1+1", 2**60, b"\x01\x02")]
    cols = ["id", "name", "ratio", "ok", "missing", "amount", "ts", "day", "at", "formula", "big", "raw"]
    book, ws = sheet(render("xlsx", cols, rows[:1], [(2, "東京", -1.0, False, None, Decimal("-0.01"),
                                                       None, None, None, "", 3, None)]))
    assert [c.value for c in ws[1]] == cols
    assert ws["A1"].font.bold
    r2 = [c.value for c in ws[2]]
    assert r2[:6] == [1, "Müller", 2.5, True, None, 12.5]
    assert r2[6] == datetime(2026, 1, 31, 8, 15)  # wall time, offset left out
    assert r2[7] == datetime(2026, 2, 1) and ws["H2"].number_format == "yyyy-mm-dd"
    assert r2[8] == time(13, 45, 30)
    assert r2[9] == "=1+1" and ws["J2"].data_type == "s"  # text, not a formula
    assert r2[10] == str(2**60)  # beyond a double's exact range: kept as text
    assert r2[11] == "AQI="
    assert [c.value for c in ws[3]][:6] == [2, "東京", -1.0, False, None, -0.01]
    assert ws.max_row == 3


def test_sheet_name_and_no_header() -> None:
    book, ws = sheet(render("xlsx", ["a"], [(1,), (2,)], sheet_name="Ordini 2026", header=False))
    assert book.sheetnames == ["Ordini 2026"]
    assert [r[0].value for r in ws.iter_rows()] == [1, 2]


def test_bad_sheet_name_is_refused() -> None:
    with pytest.raises(ValueError, match="sheet_name 'a/b'"):
        render("xlsx", ["a"], [(1,)], sheet_name="a/b")


def test_row_limit_gives_a_clear_error() -> None:
    # A header plus 1,048,576 data rows is one row too many; the check precedes any writing.
    too_many = [(1,)] * MAX_ROWS
    with pytest.raises(ValueError, match=r"at most 1,048,576 rows .* use CSV"):
        render("xlsx", ["a"], too_many)


def test_text_longer_than_an_excel_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="32,767-character cell limit"):
        render("xlsx", ["note"], [("x" * (MAX_TEXT + 1),)])


def test_empty_result_is_a_valid_workbook() -> None:
    _book, ws = sheet(render("xlsx", ["a", "b"]))
    assert [c.value for c in ws[1]] == ["a", "b"]
    assert ws.max_row == 1
