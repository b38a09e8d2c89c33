"""JSON Lines: one object per row, lossless for dates, decimals, UUIDs and bytes.

Always UTF-8, as JSON requires (the ``encoding`` option is for CSV). Arrow batches (the
columnar path) are encoded column-wise with Arrow compute kernels
(:func:`pstt_core.columnar.values.json_objects`) into the same objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from ..values import dumps
from . import FormatOptions, FormatWriter, OutputFormat


def unique_keys(columns: Sequence[str]) -> list[str]:
    """Column names as object keys; a repeated name (``a.id, b.id``) gets ``_2``, ``_3`` …"""
    seen: set[str] = set()
    keys = []
    for name in columns:
        key, n = name, 1
        while key in seen:
            n += 1
            key = f"{name}_{n}"
        seen.add(key)
        keys.append(key)
    return keys


class JsonLinesWriter(FormatWriter):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        super().__init__(fileobj, columns, options)
        self.keys = unique_keys(self.columns)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        cols = self.keys
        text = "".join([dumps(dict(zip(cols, r, strict=False))) + "\n" for r in rows])
        self.fileobj.write(text.encode("utf-8"))
        self.rows += len(rows)


    def write_arrow(self, batch: Any) -> None:
        from ..columnar.values import concatenated, json_keys, json_objects

        if not batch.num_rows:
            return
        if not hasattr(self, "_json_keys"):
            self._json_keys = json_keys(self.keys)
        objects = json_objects(batch, self._json_keys, range(batch.num_columns), nan="python")
        self.fileobj.write(concatenated(objects, "\n"))
        self.rows += batch.num_rows


def _arrow_check(options: FormatOptions, schema: Any) -> bool:
    from ..columnar.types import supported

    return all(supported(f.type) for f in schema)


JSONL = OutputFormat("jsonl", "jsonl", "application/x-ndjson", JsonLinesWriter, "JSON Lines",
                     arrow_check=_arrow_check)
