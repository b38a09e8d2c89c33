"""XLSX through XlsxWriter in constant-memory mode (rows are flushed as they are written)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from ..values import to_text
from . import FormatOptions, FormatWriter, OutputFormat

MAX_ROWS = 1_048_576


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, bool, str)):
        return value
    if isinstance(value, datetime):
        # Excel has no time zones: write the wall time, keep the offset out of the cell.
        return value.replace(tzinfo=None)
    if isinstance(value, (date, time)):
        return value
    if isinstance(value, Decimal):
        return float(value) if abs(value) < Decimal("1e15") else str(value)
    return to_text(value)


class XlsxWriter(FormatWriter):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        super().__init__(fileobj, columns, options)
        import xlsxwriter

        self.book = xlsxwriter.Workbook(fileobj, {"constant_memory": True, "in_memory": False,
                                                  "remove_timezone": True})
        self.sheet = self.book.add_worksheet(options.sheet_name[:31] or "data")
        bold = self.book.add_format({"bold": True})
        self.date_fmt = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.row = 0
        if options.header:
            self.sheet.write_row(0, 0, self.columns, bold)
            self.row = 1

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if self.row + len(rows) > MAX_ROWS:
            raise ValueError(f"XLSX holds at most {MAX_ROWS:,} rows per sheet; use CSV for larger results")
        sheet, date_fmt = self.sheet, self.date_fmt
        for r in rows:
            for c, v in enumerate(r):
                v = _cell(v)
                if isinstance(v, (datetime, date, time)):
                    sheet.write_datetime(self.row, c, v, date_fmt)
                elif v is not None:
                    sheet.write(self.row, c, v)
            self.row += 1
        self.rows += len(rows)

    def close(self) -> None:
        self.book.close()


XLSX = OutputFormat("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    XlsxWriter, "Excel workbook", requires=("xlsxwriter",),
                    install_hint='pip install "pstt[xlsx]"', compressible=False)
