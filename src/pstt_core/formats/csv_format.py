"""CSV through the standard library's C writer, a batch at a time.

Each batch is rendered into memory by ``csv.writer``, encoded once with an incremental
encoder (so ``utf-8-sig`` writes its BOM once) and written with one call. Values are
converted in Python only when a batch holds a type whose ``str()`` is not the text we want
(``Decimal`` in exponent form, ``bytes``, JSON documents), when NULL has a text, or when
floats need a decimal comma (``decimal_separator: ","``); the type check itself runs at C
speed over the whole batch.
"""

from __future__ import annotations

import codecs
import csv
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain
from typing import IO, Any, Literal

from ..values import decimal_text, to_text
from . import FormatOptions, FormatWriter, OutputFormat

_QUOTING: dict[str, Literal[0, 1, 2, 3]] = {"minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL,
            "nonnumeric": csv.QUOTE_NONNUMERIC, "none": csv.QUOTE_NONE}
# Types whose ``str()`` — what csv.writer writes — is already the text PSTT wants:
# ``str(datetime)`` is ISO 8601 with a space, ``str(UUID)`` the canonical form.
_NONE = type(None)
_AS_IS = frozenset({str, int, float, bool, _NONE, datetime, date, time, uuid.UUID})
_AS_IS_DECIMAL_COMMA = _AS_IS - {float}


def _comma_text(value: Any) -> Any:
    """``to_text`` with a decimal comma in floats and decimals (``1234.5`` → ``1234,5``;
    no thousands separator, which Excel would not need and a parser might misread)."""
    kind = type(value)
    if kind is float:
        return repr(value).replace(".", ",")
    if kind is str or kind is int:  # the usual cells first: no conversion
        return value
    if isinstance(value, Decimal):
        return decimal_text(value).replace(".", ",")
    return to_text(value)


class _Lines(list[str]):
    """The file ``csv.writer`` writes to: collects the lines of one batch in memory."""

    write = list.append


class CsvWriter(FormatWriter):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        super().__init__(fileobj, columns, options)
        if options.quoting not in _QUOTING:
            raise ValueError(f"quoting must be one of {', '.join(_QUOTING)}")
        if len(options.delimiter) != 1 or options.delimiter in '"\r\n\\':
            raise ValueError("the delimiter must be one character other than '\"', '\\', CR or LF")
        self.encoding = options.encoding
        self.encoder = codecs.getincrementalencoder(options.encoding)()
        self.null = options.null
        comma = options.decimal_separator == ","
        self.as_is = _AS_IS_DECIMAL_COMMA if comma else _AS_IS
        self.text = _comma_text if comma else to_text
        self._lines = _Lines()
        self.writer = csv.writer(self._lines, delimiter=options.delimiter,
                                 quoting=_QUOTING[options.quoting],
                                 lineterminator=options.line_terminator,
                                 escapechar="\\" if options.quoting == "none" else None)
        if options.header:
            self.writer.writerow(self.columns)
            self._flush()

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        types = set(map(type, chain.from_iterable(rows)))
        null, text = self.null, self.text
        if not types <= self.as_is or (null and _NONE in types):
            rows = [[null if v is None else text(v) for v in r] for r in rows]
        self.writer.writerows(rows)
        self._flush()
        self.rows += len(rows)

    def _flush(self) -> None:
        text = "".join(self._lines)
        self._lines.clear()
        try:
            data = self.encoder.encode(text)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start:exc.end]
            raise ValueError(f"the text {bad!r} cannot be written in encoding {self.encoding!r}; "
                             "use utf-8 (or utf-8-sig for Excel)") from None
        self.fileobj.write(data)

    def close(self) -> None:
        tail = self.encoder.encode("", final=True)
        if tail:
            self.fileobj.write(tail)


CSV = OutputFormat("csv", "csv", "text/csv", CsvWriter, "Comma-separated values")
