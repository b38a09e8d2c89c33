"""Which text values of a result become XLSX date cells (``iso_text_dates``).

A text becomes a date only when it is safe:

- its shape is strict ISO 8601 — ``2026-01-31``, ``2026-01-31 08:15``, ``2026-01-31T08:15:00``,
  with up to six fraction digits and an optional ``Z`` / ``±HH[:MM]`` offset. Nothing Excel
  itself would guess at (``1/2``, ``01-02``, ``Jan 2``, ``20260131``) is touched;
- its year is 1900–9999 (Excel has no earlier dates);
- its column is a date column: in the first batch that has a value in it, *every* non-NULL
  value is such a text. One other value (``2026-13-01``, ``n/a``, a number) keeps the whole
  column text. A later value that does not parse stays text in its cell, unchanged.

A timestamp's offset is left out and its wall time kept, as for timestamp values (Excel has
no time zones).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

_ISO = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?"
                  r"(?:Z|[+-]\d\d(?::?\d\d)?)?)?")
_FIRST_YEAR = 1900


def excel_date(text: str) -> date | datetime | None:
    """The date or timestamp ``text`` spells in strict ISO 8601, or None."""
    if len(text) < 10 or not _ISO.fullmatch(text):
        return None
    try:
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:  # 2026-02-30, 25:00
        return None
    return value if value.year >= _FIRST_YEAR else None


class DateColumns:
    """The columns of one result whose text is written as dates, decided once per column."""

    def __init__(self, count: int):
        self.decided: list[bool | None] = [None] * count

    def columns(self, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Date columns, deciding the undecided ones from ``rows`` (the current batch)."""
        decided = self.decided
        for col, state in enumerate(decided):
            if state is None:
                values = [r[col] for r in rows if r[col] is not None]
                if values:
                    decided[col] = all(type(v) is str and excel_date(v) is not None
                                       for v in values)
        return [col for col, state in enumerate(decided) if state]


def with_dates(row: Sequence[Any], columns: Sequence[int]) -> list[Any]:
    """``row`` with the texts of ``columns`` that parse replaced by dates."""
    out = list(row)
    for col in columns:
        value = out[col]
        if type(value) is str:
            parsed = excel_date(value)
            if parsed is not None:
                out[col] = parsed
    return out
