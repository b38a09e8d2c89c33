"""Which Arrow types the columnar path serves (pyarrow only: no compute kernels to load)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

# The PostgreSQL driver's NUMERIC: PostgreSQL's own fixed-point text (never an exponent).
_NUMERIC = "numeric"


def storage(column: Any) -> Any:
    """An extension column's storage (PostgreSQL NUMERIC is text in an opaque type)."""
    if isinstance(column.type, pa.BaseExtensionType):
        return column.storage if isinstance(column, pa.Array) else pa.chunked_array(
            [c.storage for c in column.chunks], column.type.storage_type)
    return column


def is_numeric_text(t: pa.DataType) -> bool:
    return isinstance(t, pa.BaseExtensionType) and getattr(t, "type_name", None) == _NUMERIC \
        and pa.types.is_string(t.storage_type)


def supported(t: pa.DataType) -> bool:
    """Whether the columnar writers render values of ``t`` exactly like the row path."""
    return bool(
        pa.types.is_integer(t) or pa.types.is_floating(t) and not pa.types.is_float16(t)
        or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
        or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_date32(t)
        or pa.types.is_null(t) or is_numeric_text(t)
        or pa.types.is_timestamp(t) and t.unit in ("s", "ms", "us") and t.tz in (None, "UTC", "+00:00")
        or pa.types.is_time(t) and t.unit in ("s", "ms", "us"))


def unsupported_columns(schema: pa.Schema) -> list[str]:
    """``name (type)`` of each column the columnar path cannot serve."""
    return [f"{f.name} ({f.type})" for f in schema if not supported(f.type)]
