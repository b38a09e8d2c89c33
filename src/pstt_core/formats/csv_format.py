"""CSV through the standard library's C writer, a batch at a time.

Each batch is rendered into memory by ``csv.writer``, encoded once with an incremental
encoder (so ``utf-8-sig`` writes its BOM once) and written with one call. Values are
converted in Python only when a batch holds a type whose ``str()`` is not the text we want
(``Decimal`` in exponent form, ``bytes``, JSON documents), when NULL has a text, or when
floats need a decimal comma (``decimal_separator: ","``); the type check itself runs at C
speed over the whole batch.

Arrow batches (the columnar path) go through pyarrow's CSV writer, a batch at a time, after
the columns whose Arrow text differs from the row path's are rendered as the row path does
(booleans, timestamps, times, bytes; :mod:`pstt_core.columnar.values`). Its quoting differs
in form, not in the values read back: with ``minimal`` every text cell is quoted, with
``all`` a NULL is an empty unquoted cell (docs/FILESYSTEM.md). ``nonnumeric``, ``none``,
encodings other than UTF-8 and any option it does not know (a decimal comma, a locale) keep
the row path.
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
from . import FormatOptions, FormatWriter, OutputFormat, only_options

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
        self._started = False
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

    def write_arrow(self, batch: Any) -> None:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        if not batch.num_rows:
            return
        arrays = list(batch.columns)
        if not all(_arrow_native(c.type) for c in arrays):
            from ..columnar.values import text  # compute kernels: loaded when needed

            arrays = [c if _arrow_native(c.type) else text(c) for c in arrays]
        table = pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
        out = pa.BufferOutputStream()
        pcsv.write_csv(table, out, pcsv.WriteOptions(
            include_header=False, delimiter=self.options.delimiter,
            eol=self.options.line_terminator, null_string=self.null,
            quoting_style=_ARROW_QUOTING[self.options.quoting]))
        if not self._started:
            self._flush()  # the BOM of utf-8-sig without a header
        self.fileobj.write(memoryview(out.getvalue()))
        self.rows += batch.num_rows

    def _flush(self) -> None:
        self._started = True
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





# Quoting the columnar path can write (see the module docstring); others keep the row path.
_ARROW_QUOTING = {"minimal": "needed", "all": "all_valid"}
_ARROW_ENCODINGS = frozenset({"utf-8", "utf-8-sig"})
_ARROW_OPTIONS = ("delimiter", "quoting", "encoding", "header", "line_terminator", "null",
                  "sheet_name")


def _arrow_native(t: Any) -> bool:
    """Types whose text from pyarrow's CSV writer is the row path's (as a value)."""
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_string(t)
                or pa.types.is_large_string(t) or pa.types.is_date32(t))


def _arrow_check(options: FormatOptions, schema: Any) -> bool:
    from ..columnar.types import supported

    try:
        encoding = codecs.lookup(options.encoding).name
    except LookupError:
        return False
    return (options.quoting in _ARROW_QUOTING and encoding in _ARROW_ENCODINGS
            and '"' not in options.null and only_options(options, _ARROW_OPTIONS)
            and all(supported(f.type) for f in schema))


CSV = OutputFormat("csv", "csv", "text/csv", CsvWriter, "Comma-separated values",
                   arrow_check=_arrow_check)
