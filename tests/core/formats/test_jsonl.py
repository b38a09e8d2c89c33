"""JSON Lines format: lossless values, read back and compared."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from tests.core.formats.conftest import render


def lines(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_values_are_lossless() -> None:
    tz = timezone(timedelta(hours=-5, minutes=-30))
    uid = uuid.uuid4()
    row = (datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=tz), datetime(2026, 3, 1, 12, 30),
           date(1999, 12, 31), time(7, 5, 3, 9), Decimal("12345678901234567890.123456789"),
           Decimal("0E-10"), uid, b"\x00\x01\xfe\xff", None, "Müller \"東京\"\n", 42, 2.5, True,
           [1, {"a": None}])
    cols = ["ts", "naive", "d", "t", "dec", "zero", "uid", "blob", "nothing", "text", "i", "f",
            "b", "doc"]
    back = lines(render("jsonl", cols, [row]))[0]
    assert datetime.fromisoformat(back["ts"]) == row[0]  # type: ignore[arg-type]
    assert datetime.fromisoformat(back["ts"]).utcoffset() == tz.utcoffset(None)  # type: ignore[arg-type]
    assert datetime.fromisoformat(back["naive"]) == row[1]  # type: ignore[arg-type]
    assert date.fromisoformat(back["d"]) == row[2]  # type: ignore[arg-type]
    assert time.fromisoformat(back["t"]) == row[3]  # type: ignore[arg-type]
    assert back["dec"] == "12345678901234567890.123456789"
    assert Decimal(back["zero"]) == 0 and back["zero"] == "0.0000000000"  # type: ignore[arg-type]
    assert uuid.UUID(back["uid"]) == uid  # type: ignore[arg-type]
    assert base64.b64decode(back["blob"]) == row[7]  # type: ignore[arg-type]
    assert back["nothing"] is None
    assert back["text"] == row[9]
    assert (back["i"], back["f"], back["b"], back["doc"]) == (42, 2.5, True, [1, {"a": None}])


def test_one_object_per_row_across_batches_and_utf8() -> None:
    data = render("jsonl", ["id", "name"], [(1, "é")], [(2, "東"), (3, None)], encoding="latin-1")
    assert data.decode("utf-8").count("\n") == 3
    assert lines(data) == [{"id": 1, "name": "é"}, {"id": 2, "name": "東"}, {"id": 3, "name": None}]


def test_repeated_column_names_keep_every_value() -> None:
    back = lines(render("jsonl", ["id", "id", "name", "id"], [(1, 2, "x", 3)]))
    assert back == [{"id": 1, "id_2": 2, "name": "x", "id_3": 3}]


def test_empty_result_is_an_empty_file() -> None:
    assert render("jsonl", ["a"]) == b""
