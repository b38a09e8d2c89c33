"""CSV for Excel in Italy: the excel-it preset and the decimal comma, read back as Excel would."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest

from pstt_core import ConfigError, FormatOptions
from pstt_core.formats.csv_format import CSV
from tests.core.formats.conftest import render

# A number as Italian Excel reads it: digits, an optional decimal comma, nothing else.
_IT_NUMBER = re.compile(r"-?\d+(?:,\d+)?")


def it_number(text: str) -> Decimal:
    """A strict decimal-comma parser: refuses a '.' (which Italian Excel would read as text)."""
    if not _IT_NUMBER.fullmatch(text):
        raise ValueError(f"not an Italian-locale number: {text!r}")
    return Decimal(text.replace(",", "."))


def read_it(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "utf-8-sig: Excel needs the BOM to read UTF-8"
    text = data.decode("utf-8-sig")
    assert "\n" not in text.replace("\r\n", ""), "every line ends with CRLF"
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_excel_it_writes_semicolons_decimal_commas_bom_and_crlf() -> None:
    cols = ["id", "città", "prezzo", "importo", "quantità", "giorno", "nota"]
    batches = [[(1, "Milano", 12.5, Decimal("1234.56"), 3, date(2026, 1, 31), "a; b, c")],
               [(2, "Napoli", -0.25, Decimal("-7"), 10, None, None),
                (3, "Torino", 1e-7, Decimal("0.10"), 0, date(2026, 2, 1), "età 3,5")]]
    rows = read_it(render("csv", cols, *batches, locale="excel-it"))
    assert rows[0] == cols
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    assert [it_number(r[2]) for r in rows[1:3]] == [Decimal("12.5"), Decimal("-0.25")]
    assert rows[3][2] == "1e-07"  # exponent form is kept; Excel reads it in any locale
    assert [it_number(r[3]) for r in rows[1:]] == [Decimal("1234.56"), Decimal("-7"),
                                                   Decimal("0.10")]
    assert [it_number(r[4]) for r in rows[1:]] == [3, 10, 0]
    assert rows[1][5] == "2026-01-31" and rows[2][5] == ""
    assert rows[1][6] == "a; b, c" and rows[3][6] == "età 3,5"  # text is never changed


def test_decimal_comma_on_its_own_and_the_null_text() -> None:
    data = render("csv", ["x", "y"], [(1.5, None), (Decimal("2.25"), "z")], delimiter=";",
                  decimal_separator=",", null="NULL")
    assert data == b"x;y\r\n1,5;NULL\r\n2,25;z\r\n"


def test_an_option_given_explicitly_wins_over_the_preset() -> None:
    data = render("csv", ["a", "b"], [(1.5, "x")], locale="excel-it", delimiter="\t",
                  encoding="cp1252")
    assert data == b"a\tb\r\n1,5\tx\r\n"
    # A value equal to the built-in default is not told apart from no value: the preset's.
    assert render("csv", ["a"], [(1.5,)], locale="excel-it", encoding="utf-8",
                  delimiter=",") == b"\xef\xbb\xbfa\r\n1,5\r\n"


def test_the_excel_preset_keeps_commas_and_points() -> None:
    assert render("csv", ["a", "b"], [(1.5, "x")], locale="excel") == b"\xef\xbb\xbfa,b\r\n1.5,x\r\n"


@pytest.mark.parametrize(("options", "path", "message"), [
    ({"locale": "excel-xx"}, "locale", "unknown locale 'excel-xx'; use one of excel-it, excel"),
    ({"decimal_separator": ","}, "decimal_separator", "also the delimiter"),
    ({"decimal_separator": ";", "delimiter": "|"}, "decimal_separator", "must be '.' or ','"),
    ({"locale": "excel", "decimal_separator": ","}, "decimal_separator",
     "with a decimal comma use delimiter ';'"),
])
def test_options_that_cannot_work_are_refused_naming_the_option(
        options: dict[str, str], path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        CSV.check(FormatOptions(**options))
    assert err.value.path == path
    with pytest.raises(ValueError, match=f"^{path}: "):
        CSV.open(io.BytesIO(), ["a"], FormatOptions(**options))
