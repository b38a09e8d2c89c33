"""Parquet through pyarrow: one row group per batch.

The schema is inferred from the data. A column that is still all NULL is held back for a
bounded number of rows (:data:`LOOKAHEAD_ROWS`) so that it gets its real type; a column
with no value by then becomes ``string``, and later values are written as their text.
Values pyarrow cannot infer (UUID, mixed types in one column) are written as text. A later
batch whose values do not fit the schema fails the run with the column named.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from ..values import to_text
from . import FormatOptions, FormatWriter, OutputFormat

LOOKAHEAD_ROWS = 65_536
_NONE = type(None)
# Python types pyarrow converts on its own; anything else is written as text.
_NATIVE = frozenset({bool, int, float, str, bytes, Decimal, datetime, date, time, timedelta})
_NUMBERS = frozenset({int, float})


def _column_values(values: Sequence[Any], arrow_type: Any = None) -> list[Any]:
    """Values ready for ``pyarrow.array``: text where pyarrow would not infer one type."""
    import pyarrow as pa

    types = set(map(type, values)) - {_NONE}
    if arrow_type is not None and pa.types.is_string(arrow_type):
        return [v if v is None or type(v) is str else str(to_text(v)) for v in values]
    if not types or (len(types) == 1 and types <= _NATIVE) or types == _NUMBERS:
        return list(values)
    return [None if v is None else str(to_text(v)) for v in values]


class ParquetWriter(FormatWriter):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        super().__init__(fileobj, columns, options)
        self.writer: Any = None
        self.schema: Any = None
        self.pending: list[Sequence[Any]] = []
        self.unknown = set(range(len(self.columns)))  # columns with no value seen yet

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        if self.schema is not None:
            self._write_table(rows)
            return
        self.pending.extend(rows)
        for row in rows:
            self.unknown.difference_update([i for i in self.unknown if row[i] is not None])
            if not self.unknown:
                break
        if not self.unknown or len(self.pending) >= LOOKAHEAD_ROWS:
            self._start()

    def _start(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows, self.pending = self.pending, []
        columns = list(zip(*rows, strict=False)) if rows else [() for _ in self.columns]
        arrays = []
        for name, values in zip(self.columns, columns, strict=False):
            try:
                array = pa.array(_column_values(values), from_pandas=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                raise ValueError(f"Parquet column {name!r}: {exc}") from None
            if pa.types.is_null(array.type):
                array = array.cast(pa.string())
            elif pa.types.is_decimal(array.type):
                # The widest precision so later batches with bigger numbers still fit.
                array = array.cast(pa.decimal128(38, array.type.scale))
            arrays.append(array)
        self.schema = pa.schema([pa.field(n, a.type) for n, a in zip(self.columns, arrays, strict=True)])
        self.writer = pq.ParquetWriter(self.fileobj, self.schema)
        if rows:
            self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def _write_table(self, rows: Sequence[Sequence[Any]]) -> None:
        import pyarrow as pa

        arrays = []
        for field, values in zip(self.schema, zip(*rows, strict=False), strict=False):
            try:
                arrays.append(pa.array(_column_values(values, field.type), type=field.type,
                                       from_pandas=False))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
                raise ValueError(
                    f"Parquet column {field.name!r} has type {field.type} from the first rows, but "
                    f"a later value does not fit ({exc}); cast the column in the query") from None
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def write_arrow(self, batch: Any) -> None:
        """Arrow batches go in as they are: the schema is the result's, from the database."""
        import pyarrow.parquet as pq

        if self.writer is None:
            self.schema = batch.schema.remove_metadata()
            self.writer = pq.ParquetWriter(self.fileobj, self.schema)
        self.writer.write_batch(batch.replace_schema_metadata(None))
        self.rows += batch.num_rows

    def close(self) -> None:
        if self.writer is None:  # few rows, or an empty result: still a valid file
            self._start()
        self.writer.close()


def _arrow_check(options: FormatOptions, schema: Any) -> bool:
    """Native Arrow types only: PostgreSQL's NUMERIC (text in the driver) keeps the row path,
    which writes it as a decimal."""
    import pyarrow as pa

    from ..columnar.types import supported

    return all(supported(f.type) and not isinstance(f.type, pa.BaseExtensionType)
               and not pa.types.is_null(f.type) for f in schema)


PARQUET = OutputFormat("parquet", "parquet", "application/vnd.apache.parquet", ParquetWriter,
                       "Apache Parquet", requires=("pyarrow",),
                       install_hint='pip install "pstt[parquet]"', compressible=False,
                       arrow_check=_arrow_check)
