"""Helpers for the output format tests: render rows through a registered format."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pytest

from pstt_core import FormatOptions
from pstt_core.formats.csv_format import CSV
from pstt_core.formats.jsonl import JSONL
from pstt_core.formats.parquet import PARQUET
from pstt_core.formats.xlsx import XLSX

FORMATS = {f.name: f for f in (CSV, JSONL, XLSX, PARQUET)}


def render(fmt: str, columns: Sequence[str], *batches: Sequence[Sequence[Any]],
           **options: Any) -> bytes:
    """The bytes a format writes for ``batches`` (each one ``write()`` call)."""
    out = io.BytesIO()
    writer = FORMATS[fmt].open(out, list(columns), FormatOptions(**options))
    for batch in batches:
        writer.write(batch)
    writer.close()
    return out.getvalue()


@pytest.fixture
def rendered() -> Any:
    return render
