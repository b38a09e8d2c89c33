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


def test_header_is_frozen_filtered_and_columns_are_as_wide_as_their_data() -> None:
    rows = [(1, "Milano", datetime(2026, 1, 31, 8, 15), "x" * 200),
            (22, "Reggio nell'Emilia", datetime(2026, 2, 1), "")]
    _book, ws = sheet(render("xlsx", ["id", "city", "ordered_at", "note"], rows[:1], rows[1:]))
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:D3"
    widths = {c: ws.column_dimensions[c].width for c in "ABCD"}
    assert widths["A"] == pytest.approx(len("id") + 3 + 1, abs=0.8)  # the header and its button
    assert widths["B"] == pytest.approx(len("Reggio nell'Emilia") + 1, abs=0.8)
    assert widths["C"] == pytest.approx(20, abs=0.8)  # "yyyy-mm-dd hh:mm:ss" and a margin
    assert widths["D"] == pytest.approx(60, abs=0.8)  # capped


def test_without_a_header_nothing_is_frozen_or_filtered() -> None:
    _book, ws = sheet(render("xlsx", ["a"], [(1,), (2,)], header=False))
    assert ws.freeze_panes is None
    assert ws.auto_filter.ref is None


def test_an_empty_result_still_has_the_filter_on_its_header() -> None:
    _book, ws = sheet(render("xlsx", ["a", "b"]))
    assert (ws.freeze_panes, ws.auto_filter.ref) == ("A2", "A1:B1")


def test_iso_text_in_a_date_column_becomes_date_cells() -> None:
    cols = ["day", "ts", "ts_t", "ts_z", "ts_pg", "ts_frac", "code", "mixed", "time"]
    first = [("2026-01-31", "2026-01-31 08:15:00", "2026-01-31T08:15", "2026-01-31T08:15:00Z",
              "2026-01-31 08:15:00+01", "2026-01-31 08:15:00.250000", "2026-1-31", "2026-01-31",
              "08:15:00"),
             (None, None, None, None, None, None, "A-17", "n/a", None)]
    later = [("2026-02-30", "not a date", "2026-02-01T00:00:00+02:00", None, None, None,
              "2026-02-01", "2026-02-01", None)]
    _book, ws = sheet(render("xlsx", cols, first, later))
    row2 = {c: v.value for c, v in zip(cols, ws[2], strict=True)}
    assert row2["day"] == datetime(2026, 1, 31) and ws["A2"].number_format == "yyyy-mm-dd"
    assert ws["A2"].is_date and ws["B2"].is_date
    assert row2["ts"] == row2["ts_t"] == row2["ts_z"] == row2["ts_pg"] == datetime(2026, 1, 31, 8, 15)
    assert ws["B2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert row2["ts_frac"] == datetime(2026, 1, 31, 8, 15, 0, 250000)
    # Not strict ISO, or a column with one other value: text, exactly as the database gave it.
    assert (row2["code"], row2["mixed"], row2["time"]) == ("2026-1-31", "2026-01-31", "08:15:00")
    assert ws["G2"].data_type == ws["H2"].data_type == "s"
    row4 = {c: v.value for c, v in zip(cols, ws[4], strict=True)}
    # A later text that does not parse stays text in a date column; one that does is a date.
    assert (row4["day"], row4["ts"]) == ("2026-02-30", "not a date")
    assert row4["ts_t"] == datetime(2026, 2, 1)  # wall time; the offset is left out
    assert row4["code"] == row4["mixed"] == "2026-02-01"


def test_iso_text_dates_can_be_turned_off_and_old_dates_stay_text() -> None:
    _book, ws = sheet(render("xlsx", ["day"], [("2026-01-31",)], iso_text_dates=False))
    assert ws["A2"].value == "2026-01-31" and ws["A2"].data_type == "s"
    # Excel's first date is 1900-01-01: earlier ones would show as "#####".
    _book, ws = sheet(render("xlsx", ["day", "text_day"], [(date(1899, 12, 31), "1899-12-31"),
                                                          (date(1900, 1, 1), "1900-01-01")]))
    assert [ws["A2"].value, ws["B2"].value] == ["1899-12-31", "1899-12-31"]
    assert ws["A3"].value == datetime(1900, 1, 1)
    assert ws["B3"].value == "1900-01-01"  # the column's first value was no Excel date
