"""Arrow columns rendered as the row path renders Python values: CSV text and JSON.

The row path is the reference (``pstt_core.values.to_text`` for text cells, the lossless JSON
of ``pstt_core.dumps`` / the Kafka sink's encoder). Every function here works a column at a
time with Arrow compute kernels; only ``bytes`` (base64) go through Python, value by value.

Floats are written as Python's ``repr`` writes them (the same shortest round-trip digits);
JSON exponents keep Arrow's ``e+300`` form where orjson writes ``e300`` (the same number).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .types import is_numeric_text, storage

_WHOLE = "^-?[0-9]+$"  # a float Arrow wrote without fraction or exponent


def _float_text(col: Any) -> Any:
    """Python's ``repr``: Arrow's shortest round-trip digits are the same digits; whole
    numbers get their ``.0`` and magnitudes below 1e-4 (plain in Arrow, an exponent in
    Python) are written by Python, value by value (they are rare)."""
    text = pc.cast(col, pa.string())
    whole = pc.match_substring_regex(text, _WHOLE)
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    tiny = pc.fill_null(pc.and_(pc.less(pc.abs(col), 1e-4), pc.not_equal(col, 0)), False)
    if pc.any(tiny).as_py():
        odd = [repr(v) for v in pc.filter(col, tiny).to_pylist()]
        text = pc.replace_with_mask(text, tiny, pa.array(odd, pa.string()))
    return text


def _clock_text(col: Any, width: int) -> Any:
    """Timestamps and times as Python's ``str()``: microseconds only when not zero."""
    text = pc.cast(col, pa.string())
    if col.type.unit == "s":
        return text
    if col.type.unit == "ms":  # Python always writes six digits
        text = pc.binary_join_element_wise(text, "000", "")
    return pc.if_else(pc.match_substring(text, ".000000"),
                      pc.utf8_slice_codeunits(text, 0, width), text)


def _timestamp_text(col: Any, sep: str) -> Any:
    naive = col.cast(pa.timestamp(col.type.unit)) if col.type.tz else col
    text = _clock_text(naive, 19)
    if sep != " ":
        text = pc.replace_substring(text, " ", sep, max_replacements=1)
    if col.type.tz:
        text = pc.binary_join_element_wise(text, "+00:00", "")
    return text


def _base64(col: Any) -> Any:
    return pa.array([None if v is None else base64.b64encode(v).decode("ascii")
                     for v in col.to_pylist()], pa.string())


def text(col: Any) -> Any:
    """A string column of the row path's text cells (``to_text``); NULL stays NULL."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col
    if is_numeric_text(t):
        return storage(col)
    if pa.types.is_floating(t):
        return _float_text(col)
    if pa.types.is_boolean(t):
        return pc.if_else(col, "True", "False")
    if pa.types.is_timestamp(t):
        return _timestamp_text(col, " ")
    if pa.types.is_time(t):
        return _clock_text(col, 8)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return _base64(col)
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.string())
    return pc.cast(col, pa.string())


_CONTROL = "[\x00-\x1f]"
_OTHER_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f]"  # all but \t \n \r


def json_string(col: Any) -> Any:
    """Strings as JSON string literals (quotes included), escaped as JSON requires."""
    s = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
    if pc.any(pc.match_substring_regex(col, _CONTROL)).as_py():
        for char, escape in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            s = pc.replace_substring(s, char, escape)
        rest = pc.fill_null(pc.match_substring_regex(col, _OTHER_CONTROL), False)
        if pc.any(rest).as_py():  # other control characters: rare, escaped one by one
            odd = pc.filter(col, rest).to_pylist()
            fixed = [json.dumps(v, ensure_ascii=False)[1:-1] for v in odd]
            s = pc.replace_with_mask(s, rest, pa.array(fixed, s.type))
    return pc.binary_join_element_wise('"', s, '"', "")


def json_value(col: Any, *, nan: str) -> Any:
    """JSON value text per row; NULL stays NULL (the caller writes ``null``).

    :param nan: how non-finite floats are written: ``"null"`` (orjson, the Kafka messages)
        or ``"python"`` (``NaN`` / ``Infinity`` like ``json.dumps``, the JSON Lines files).
    """
    t = col.type
    if pa.types.is_integer(t):
        return pc.cast(col, pa.string())
    if pa.types.is_floating(t):
        out = _float_text(col)
        finite = pc.is_finite(col)
        if not pc.all(pc.fill_null(finite, True)).as_py():
            if nan == "null":
                out = pc.if_else(finite, out, pa.scalar(None, pa.string()))
            else:
                words = pc.if_else(pc.is_nan(col), "NaN",
                                   pc.if_else(pc.greater(col, 0), "Infinity", "-Infinity"))
                out = pc.if_else(finite, out, words)
        return out
    if pa.types.is_boolean(t):
        return pc.if_else(col, "true", "false")
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.string())
    if pa.types.is_timestamp(t):
        return json_string(_timestamp_text(col, "T"))
    return json_string(text(col))


def json_keys(columns: Sequence[str]) -> list[str]:
    """Each name as a JSON object key with its colon (``"name":``)."""
    return [json.dumps(name, ensure_ascii=False) + ":" for name in columns]


def json_objects(batch: pa.RecordBatch, keys: Sequence[str], indexes: Sequence[int], *,
                 nan: str, prefix: str = "", suffix: str = "") -> Any:
    """One JSON object per row: ``keys[i]`` with column ``indexes[i]``, in that order.

    ``prefix`` / ``suffix`` wrap each object (the Kafka sink's metadata envelope).
    """
    parts: list[Any] = [prefix + "{"]
    for n, (key, index) in enumerate(zip(keys, indexes, strict=True)):
        value = pc.fill_null(json_value(batch.column(index), nan=nan), "null")
        parts.append(("," if n else "") + key)
        parts.append(value)
    parts.append("}" + suffix)
    if len(parts) == 2:  # no columns
        return pa.array([prefix + "{}" + suffix] * batch.num_rows, pa.string())
    return pc.binary_join_element_wise(*parts, "")


def concatenated(strings: Any, terminator: str = "") -> memoryview:
    """The bytes of all the strings of an Arrow array, each followed by ``terminator``."""
    if terminator:
        strings = pc.binary_join_element_wise(strings, terminator, "")
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    if not len(strings):
        return memoryview(b"")
    offsets_type = pa.int64() if pa.types.is_large_string(strings.type) else pa.int32()
    buffers = strings.buffers()
    offsets = pa.Array.from_buffers(offsets_type, len(strings) + 1, [None, buffers[1]],
                                    offset=strings.offset)
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    return memoryview(buffers[2])[start:end]
