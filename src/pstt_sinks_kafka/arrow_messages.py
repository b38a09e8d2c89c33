"""Messages from Arrow record batches (the columnar path): the row path's JSON, column-wise.

A row becomes ``dict(zip(columns, row))`` encoded by :data:`~.rowjson.encode_json` on the
row path; here the same object is built for a whole batch by Arrow compute kernels
(:func:`pstt_core.columnar.json_objects`): the same keys in the same order (a repeated
column name keeps its first place and its last value, as in a dict), the same values after
parsing. Keys are the key column's text, as the row path writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pstt_core import columnar

from .rowjson import NAN_AS


def supported(arrow_type: Any) -> bool:
    """Whether values of ``arrow_type`` become the row path's JSON."""
    return columnar.supported(arrow_type)


class ArrowMessages:
    """Encodes the batches of one run: ``encode(batch)`` → (values, keys) as bytes."""

    def __init__(self, columns: Sequence[str], key_index: int | None, prefix: bytes,
                 suffix: bytes):
        last = {name: i for i, name in enumerate(columns)}  # a dict keeps the last value
        names = list(dict.fromkeys(columns))  # … at the first name's place
        self.indexes = [last[name] for name in names]
        self.keys = columnar.json_keys(names)
        self.key_index = key_index
        self.prefix, self.suffix = prefix.decode("utf-8"), suffix.decode("utf-8")
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, batch: Any) -> Future[tuple[list[bytes], list[bytes | None] | None]]:
        """Encode ``batch`` in the encoding thread; the future gives (values, keys)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="pstt-kafka-encode")
        return self._pool.submit(self.encode, batch)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def encode(self, batch: Any) -> tuple[list[bytes], list[bytes | None] | None]:
        import pyarrow as pa

        objects = columnar.json_objects(batch, self.keys, self.indexes, nan=NAN_AS,
                                        prefix=self.prefix, suffix=self.suffix)
        values = objects.cast(pa.binary()).to_pylist()
        keys = None
        if self.key_index is not None:
            keys = columnar.text(batch.column(self.key_index)).cast(pa.binary()).to_pylist()
        return values, keys
