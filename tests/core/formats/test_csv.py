"""CSV format: dialect options, encodings, faithful values, and csv-module compatibility."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from tests.core.formats.conftest import render

TRICKY = ["plain", "comma, inside", 'say "hi"', "multi\nline", "cr\rlf\r\n", "", " padded ",
          "semi;colon", "tab\there", "Müller 東京 ☕", "\\back\\slash", "'single'"]


def read(data: bytes, encoding: str = "utf-8", **fmt: object) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), **fmt))  # type: ignore[arg-type]


def test_tricky_text_round_trips_through_csv_reader_across_batches() -> None:
    rows = [(i, text, None if i % 3 else f"{text}|{i}") for i, text in enumerate(TRICKY)]
    data = render("csv", ["id", "text", "other"], rows[:5], rows[5:9], rows[9:])
    back = read(data)
    assert back[0] == ["id", "text", "other"]
    assert back[1:] == [[str(i), t, "" if o is None else o] for i, t, o in rows]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter(delimiter: str) -> None:
    rows = [(1, f"a{delimiter}b", 2.5), (2, "plain", None)]
    data = render("csv", ["id", "text", "x"], rows, delimiter=delimiter)
    assert data.split(b"\r\n")[0] == delimiter.join(["id", "text", "x"]).encode()
    assert read(data, delimiter=delimiter)[1:] == [["1", f"a{delimiter}b", "2.5"], ["2", "plain", ""]]
    assert f'"a{delimiter}b"'.encode() in data


def test_quoting_modes_exact_output() -> None:
    rows = [(1, "a,b", "x", None, 1.5)]
    cols = ["n", "s", "t", "z", "f"]
    assert render("csv", cols, rows, header=False) == b'1,"a,b",x,,1.5\r\n'
    assert render("csv", cols, rows, header=False, quoting="all") == b'"1","a,b","x","","1.5"\r\n'
    nonnumeric = render("csv", cols, rows, header=False, quoting="nonnumeric")
    assert nonnumeric.startswith(b'1,"a,b","x",') and nonnumeric.endswith(b",1.5\r\n")
    assert render("csv", cols, rows, header=False, quoting="none") == b"1,a\\,b,x,,1.5\r\n"


def test_unknown_quoting_and_bad_delimiter_are_refused() -> None:
    with pytest.raises(ValueError, match="quoting must be one of"):
        render("csv", ["a"], [(1,)], quoting="sometimes")
    with pytest.raises(ValueError, match="delimiter"):
        render("csv", ["a"], [(1,)], delimiter='"')


def test_utf8_sig_writes_one_bom_for_excel() -> None:
    data = render("csv", ["città"], [("Müller",)], [("東京",)], encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert read(data, "utf-8-sig") == [["città"], ["Müller"], ["東京"]]
    no_header = render("csv", ["x"], [("a",)], [("b",)], encoding="utf-8-sig", header=False)
    assert no_header == b"\xef\xbb\xbfa\r\nb\r\n"


def test_plain_utf8_has_no_bom_and_other_encodings_are_honoured() -> None:
    assert not render("csv", ["x"], [("é",)]).startswith(b"\xef\xbb\xbf")
    assert render("csv", ["x"], [("é",)], encoding="latin-1", header=False) == b"\xe9\r\n"
    assert render("csv", ["x"], [("é",)], encoding="utf-16", header=False).decode("utf-16") == "é\r\n"


def test_unencodable_text_names_the_encoding() -> None:
    with pytest.raises(ValueError, match="'東京' cannot be written in encoding 'latin-1'"):
        render("csv", ["x"], [("東京",)], encoding="latin-1")


def test_header_on_and_off() -> None:
    assert render("csv", ["a", "b"], [(1, 2)]) == b"a,b\r\n1,2\r\n"
    assert render("csv", ["a", "b"], [(1, 2)], header=False) == b"1,2\r\n"


def test_null_text() -> None:
    rows = [(1, None, "x"), (None, "", None)]
    assert render("csv", ["a", "b", "c"], rows, header=False) == b"1,,x\r\n,,\r\n"
    assert render("csv", ["a", "b", "c"], rows, header=False, null="NULL") == \
        b"1,NULL,x\r\nNULL,,NULL\r\n"


def test_a_lone_empty_field_stays_distinguishable_from_a_blank_line() -> None:
    data = render("csv", ["only"], [("",), ("x",), (None,)])
    assert read(data) == [["only"], [""], ["x"], [""]]


def test_database_types_are_rendered_faithfully() -> None:
    rome = timezone(timedelta(hours=1))
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    row = (datetime(2026, 1, 31, 8, 0, 5, 120000, tzinfo=rome), datetime(2026, 1, 31, 8, 0),
           date(2026, 2, 1), time(23, 59, 58), Decimal("0E-10"), Decimal("12.50"),
           Decimal("1E+3"), Decimal("-98765432109876543210.0123456789"), b"\x00\xff\x10",
           uid, True, {"k": [1, "v"]}, 0.1, 2**70)
    cols = [f"c{i}" for i in range(len(row))]
    assert read(render("csv", cols, [row]))[1] == [
        "2026-01-31 08:00:05.120000+01:00", "2026-01-31 08:00:00", "2026-02-01", "23:59:58",
        "0.0000000000", "12.50", "1000", "-98765432109876543210.0123456789", "AP8Q",
        "12345678-1234-5678-1234-567812345678", "True", '{"k":[1,"v"]}', "0.1", str(2**70)]


def test_conversion_applies_to_the_rows_that_need_it_within_a_batch() -> None:
    rows = [(1, "a"), (2, Decimal("0E-2")), (3, None), (4, b"hi")]
    assert read(render("csv", ["n", "v"], rows))[1:] == [["1", "a"], ["2", "0.00"], ["3", ""],
                                                         ["4", "aGk="]]


def test_output_is_byte_identical_to_the_csv_module_for_plain_values() -> None:
    rnd = random.Random(7)
    pool = TRICKY + [None, 0, -5, 3.25, 1e300, float("nan"), True, "x" * 300]
    batches = [[tuple(rnd.choice(pool) for _ in range(5)) for _ in range(rnd.randrange(1, 60))]
               for _ in range(12)]
    cols = ["a", "b", "c", "d", "e"]
    expected = io.StringIO(newline="")
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(cols)
    for batch in batches:
        writer.writerows(batch)
    assert render("csv", cols, *batches) == expected.getvalue().encode("utf-8")


def test_empty_result_is_a_valid_file() -> None:
    assert read(render("csv", ["a", "b"])) == [["a", "b"]]
    assert render("csv", ["a", "b"], [], header=False) == b""
