"""Parquet format read back with pyarrow."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pstt_core.formats.parquet import LOOKAHEAD_ROWS
from tests.core.formats.conftest import render


def table(data: bytes) -> pq.ParquetFile:
    return pq.ParquetFile(io.BytesIO(data))


def test_types_and_values() -> None:
    tz = timezone(timedelta(hours=2))
    uid = uuid.uuid4()
    rows = [(1, "a", 1.5, True, Decimal("10.25"), datetime(2026, 5, 1, 10, tzinfo=tz),
             date(2026, 5, 1), b"\x00\xff", uid),
            (2, None, None, False, Decimal("-3.10"), None, None, None, None)]
    cols = ["id", "s", "f", "b", "dec", "ts", "d", "blob", "uid"]
    pf = table(render("parquet", cols, rows))
    schema = pf.schema_arrow
    assert schema.field("id").type == pa.int64()
    assert schema.field("s").type == pa.string()
    assert schema.field("f").type == pa.float64()
    assert schema.field("b").type == pa.bool_()
    assert pa.types.is_decimal(schema.field("dec").type) and schema.field("dec").type.scale == 2
    assert pa.types.is_timestamp(schema.field("ts").type)
    assert schema.field("d").type == pa.date32()
    assert schema.field("blob").type == pa.binary()
    assert schema.field("uid").type == pa.string()
    back = pf.read().to_pylist()
    assert back[0]["dec"] == Decimal("10.25") and back[1]["dec"] == Decimal("-3.10")
    assert back[0]["ts"] == datetime(2026, 5, 1, 10, tzinfo=tz)
    assert back[0]["uid"] == str(uid)
    assert back[1] == {"id": 2, "s": None, "f": None, "b": False, "dec": Decimal("-3.10"),
                       "ts": None, "d": None, "blob": None, "uid": None}


def test_null_only_first_batch_still_gets_the_real_type() -> None:
    first = [(i, None) for i in range(100)]
    later = [(i, i * 10) for i in range(100, 150)]
    pf = table(render("parquet", ["id", "n"], first, later))
    assert pf.schema_arrow.field("n").type == pa.int64()
    values = pf.read().column("n").to_pylist()
    assert values[:100] == [None] * 100 and values[100:] == [i * 10 for i in range(100, 150)]


def test_a_column_null_beyond_the_lookahead_becomes_text() -> None:
    first = [(None,)] * LOOKAHEAD_ROWS
    pf = table(render("parquet", ["n"], first, [(5,), (None,)]))
    assert pf.schema_arrow.field("n").type == pa.string()
    assert pf.read().column("n").to_pylist()[-2:] == ["5", None]


def test_each_batch_is_a_row_group() -> None:
    batches = [[(b * 100 + i, f"r{i}") for i in range(100)] for b in range(3)]
    pf = table(render("parquet", ["id", "name"], *batches))
    assert pf.num_row_groups == 3
    assert pf.read().column("id").to_pylist() == list(range(300))


def test_later_bigger_decimals_fit() -> None:
    pf = table(render("parquet", ["d"], [(Decimal("1.50"),)], [(Decimal("123456789012345.99"),)]))
    assert pf.read().column("d").to_pylist() == [Decimal("1.50"), Decimal("123456789012345.99")]


def test_a_later_value_that_does_not_fit_names_the_column() -> None:
    with pytest.raises(ValueError, match="column 'amount' has type int64"):
        render("parquet", ["amount"], [(1,), (2,)], [("not a number",)])


def test_empty_result_is_a_valid_file() -> None:
    pf = table(render("parquet", ["a", "b"]))
    assert pf.schema_arrow.names == ["a", "b"]
    assert pf.metadata.num_rows == 0
