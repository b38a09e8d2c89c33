"""Parquet through pyarrow: one row group per batch, schema fixed by the first batch."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import IO, Any

from . import FormatOptions, FormatWriter, OutputFormat


class ParquetWriter(FormatWriter):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        super().__init__(fileobj, columns, options)
        self.writer: Any = None
        self.schema: Any = None

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not rows:
            return
        cols = list(zip(*rows))
        if self.schema is None:
            arrays = [pa.array(list(c), from_pandas=False) for c in cols]
            arrays = [_fix_null(a, c) for a, c in zip(arrays, cols)]
            table = pa.Table.from_arrays(arrays, names=self.columns)
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.fileobj, self.schema)
        else:
            arrays = [pa.array(list(c), type=f.type) for c, f in zip(cols, self.schema)]
            table = pa.Table.from_arrays(arrays, schema=self.schema)
        self.writer.write_table(table)
        self.rows += len(rows)

    def close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:  # empty result: still a valid file with string columns
            schema = pa.schema([(c, pa.string()) for c in self.columns])
            self.writer = pq.ParquetWriter(self.fileobj, schema)
        self.writer.close()


def _fix_null(array: Any, values: Sequence[Any]) -> Any:
    """A column that is all NULL in the first batch gets type string, not null."""
    import pyarrow as pa

    if pa.types.is_null(array.type):
        return pa.array(list(values), type=pa.string())
    if pa.types.is_decimal(array.type) and any(isinstance(v, Decimal) for v in values):
        return array
    return array


PARQUET = OutputFormat("parquet", "parquet", "application/vnd.apache.parquet", ParquetWriter,
                       "Apache Parquet", requires=("pyarrow",),
                       install_hint='pip install "pstt[parquet]"', compressible=False)
