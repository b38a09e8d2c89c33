"""CSV through the standard library's C writer; values converted only when needed."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import IO, Any

from ..values import needs_conversion, to_text
from . import FormatOptions, FormatWriter, OutputFormat

_QUOTING = {"minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL,
            "nonnumeric": csv.QUOTE_NONNUMERIC, "none": csv.QUOTE_NONE}


class CsvWriter(FormatWriter):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        super().__init__(fileobj, columns, options)
        if options.quoting not in _QUOTING:
            raise ValueError(f"quoting must be one of {', '.join(_QUOTING)}")
        self.text = io.TextIOWrapper(fileobj, encoding=options.encoding, newline="",
                                     write_through=False)
        self.writer = csv.writer(self.text, delimiter=options.delimiter,
                                 quoting=_QUOTING[options.quoting],
                                 lineterminator=options.line_terminator,
                                 escapechar="\\" if options.quoting == "none" else None)
        self.null = options.null
        if options.header:
            self.writer.writerow(self.columns)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        # Fast path: csv's C writer renders str/int/float/None itself. Only batches holding
        # dates, decimals, bytes … go through the per-value conversion.
        if self.null or any(needs_conversion(r) for r in rows):
            null = self.null
            rows = [[null if v is None else to_text(v) for v in r] for r in rows]
        self.writer.writerows(rows)
        self.rows += len(rows)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


CSV = OutputFormat("csv", "csv", "text/csv", CsvWriter, "Comma-separated values")
