"""JSON Lines: one object per row, lossless for dates, decimals, UUIDs and bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..values import dumps
from . import FormatWriter, OutputFormat


class JsonLinesWriter(FormatWriter):
    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        cols = self.columns
        text = "".join(dumps(dict(zip(cols, r))) + "\n" for r in rows)
        self.fileobj.write(text.encode(self.options.encoding if self.options.encoding != "utf-8-sig" else "utf-8"))
        self.rows += len(rows)


JSONL = OutputFormat("jsonl", "jsonl", "application/x-ndjson", JsonLinesWriter, "JSON Lines")
