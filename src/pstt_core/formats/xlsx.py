"""XLSX through XlsxWriter in constant-memory mode (rows are flushed as they are written).

Every value is written with the method for its type, never the generic ``write()``: a text
that starts with ``=`` stays text (no formula injection from the database) and a URL stays
text (no hyperlink limit).

A sheet with a header gets the header frozen and an autofilter over every row; column
widths follow the longest value seen (XlsxWriter writes the column widths and the filter
range when the file is closed, so constant-memory mode still allows them).

Dates stored as text (SQLite has no date type; other databases give text for a cast or a
``to_char``) become date cells when ``iso_text_dates`` is on and it is safe:
:mod:`.isodates` says when.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from ..errors import ConfigError
from ..values import to_text
from . import FormatOptions, FormatWriter, OutputFormat
from .isodates import DateColumns, with_dates

MAX_ROWS = 1_048_576
MAX_TEXT = 32_767
# Column widths in Excel's character units (XlsxWriter adds the cell padding): room for the filter button beside a header,
# and a cap so one long text does not make a column wider than a screen.
FILTER_BUTTON = 3
MAX_WIDTH = 60
_DATE_WIDTHS = {datetime: 19, date: 10, time: 8, timedelta: 10}

# Integers beyond 2**53 are not exact as Excel numbers (doubles): they are written as text.
_EXACT_INT = 2**53
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_name_problem(name: str) -> str | None:
    """Why Excel would refuse ``name`` as a sheet name, or None."""
    if not name or len(name) > 31:
        return "a sheet name must be 1-31 characters"
    if _BAD_SHEET_CHARS.search(name) or name.startswith("'") or name.endswith("'"):
        return "a sheet name cannot contain [ ] : * ? / \\ or start/end with an apostrophe"
    return None


class XlsxWriter(FormatWriter):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        super().__init__(fileobj, columns, options)
        import xlsxwriter

        problem = sheet_name_problem(options.sheet_name)
        if problem:
            raise ValueError(f"sheet_name {options.sheet_name!r}: {problem}")
        self.book = xlsxwriter.Workbook(fileobj, {"constant_memory": True, "in_memory": False,
                                                  "strings_to_formulas": False,
                                                  "strings_to_urls": False})
        self.sheet = self.book.add_worksheet(options.sheet_name)
        self.formats = {
            datetime: self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            date: self.book.add_format({"num_format": "yyyy-mm-dd"}),
            time: self.book.add_format({"num_format": "hh:mm:ss"}),
            timedelta: self.book.add_format({"num_format": "[h]:mm:ss"}),
        }
        self.row = 0
        self.widths = [0] * len(self.columns)
        self.dates = DateColumns(len(self.columns)) if options.iso_text_dates else None
        if options.header:
            bold = self.book.add_format({"bold": True})
            for col, name in enumerate(self.columns):
                self.sheet.write_string(0, col, str(name), bold)
                self.widths[col] = len(str(name)) + FILTER_BUTTON
            self.row = 1

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if self.row + len(rows) > MAX_ROWS:
            raise ValueError(f"XLSX holds at most {MAX_ROWS:,} rows per sheet (header included) and "
                             f"this result has more than {MAX_ROWS - (1 if self.options.header else 0):,}"
                             " data rows; use CSV, JSON Lines or Parquet for larger results")
        dates = self.dates.columns(rows) if self.dates is not None else ()
        if dates:
            rows = [with_dates(r, dates) for r in rows]
        for r in rows:
            for col, value in enumerate(r):
                if value is not None:
                    self._cell(col, value)
            self.row += 1
        self.rows += len(rows)

    def _cell(self, col: int, value: Any) -> None:
        sheet, row = self.sheet, self.row
        kind = type(value)
        if kind is str:
            self._text(col, value)
            return
        if kind is bool:
            sheet.write_boolean(row, col, value)
            width = 5
        elif kind is int or kind is float:
            if (kind is int and abs(value) >= _EXACT_INT) or (kind is float and not math.isfinite(value)):
                self._text(col, str(value))
                return
            sheet.write_number(row, col, value)
            # Excel's General format shows at most 11 significant digits.
            width = min(len(str(value)), 12)
        elif isinstance(value, Decimal):
            if not (value.is_finite() and abs(value) < Decimal("1e15")):
                self._text(col, to_text(value))
                return
            sheet.write_number(row, col, float(value))
            width = min(len(str(float(value))), 12)
        elif isinstance(value, (datetime, date)) and value.year < 1900:
            # Before Excel's first date (1900-01-01) a date cell shows "#####": text instead.
            self._text(col, to_text(value))
            return
        elif isinstance(value, (datetime, time)):
            # Excel has no time zones: the wall time is written, the offset left out.
            kind = datetime if isinstance(value, datetime) else time
            sheet.write_datetime(row, col, value.replace(tzinfo=None), self.formats[kind])
            width = _DATE_WIDTHS[kind]
        elif isinstance(value, (date, timedelta)):
            kind = date if isinstance(value, date) else timedelta
            sheet.write_datetime(row, col, value, self.formats[kind])
            width = _DATE_WIDTHS[kind]
        else:
            self._text(col, to_text(value))
            return
        if width > self.widths[col]:
            self.widths[col] = width

    def _text(self, col: int, text: str) -> None:
        n = len(text)
        if n > MAX_TEXT:
            raise ValueError(f"column {self.columns[col]!r}, row {self.row + 1}: a text of "
                             f"{n:,} characters exceeds Excel's {MAX_TEXT:,}-character cell "
                             "limit; use CSV or JSON Lines")
        self.sheet.write_string(self.row, col, text)
        if n > self.widths[col]:
            self.widths[col] = n

    def close(self) -> None:
        sheet = self.sheet
        for col, width in enumerate(self.widths):
            if width:
                sheet.set_column(col, col, min(width + 1, MAX_WIDTH))
        if self.options.header and self.columns:
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(self.row - 1, 0), len(self.columns) - 1)
        self.book.close()


def _check_options(options: FormatOptions) -> None:
    problem = sheet_name_problem(options.sheet_name)
    if problem:
        raise ConfigError(problem, path="sheet_name")


XLSX = OutputFormat("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    XlsxWriter, "Excel workbook", requires=("xlsxwriter",),
                    install_hint='pip install "pstt[xlsx]"', compressible=False,
                    check_options=_check_options)
