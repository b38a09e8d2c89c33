"""Output formats shared by every sink: streaming writers over a binary file object.

A format is registered through the ``register_formats`` hook (the core registers CSV,
JSON Lines, XLSX and Parquet with the same hook). ``OutputFormat.open(fileobj, columns,
options)`` returns a :class:`FormatWriter`; ``write(rows)`` is called once per batch and
``close()`` once at the end. Writers hold at most one batch in memory (XLSX uses
XlsxWriter's constant-memory mode; Parquet writes one row group per batch, after holding
back at most 65,536 rows while a column is still all NULL, to learn its type).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

import attrs

from ..errors import ConfigError
from ..requires import unavailable_reason
from .locales import check_locale, locale_problem, with_locale


@attrs.define
class FormatOptions:
    """Options understood by the built-in formats (sinks embed these in their options)."""

    delimiter: str = attrs.field(default=",", metadata={"help": "CSV field separator"})
    quoting: str = attrs.field(default="minimal", metadata={
        "choices": ("minimal", "all", "nonnumeric", "none"), "help": "CSV quoting"})
    encoding: str = attrs.field(default="utf-8", metadata={
        "help": "Text encoding; utf-8-sig adds a BOM so Excel detects UTF-8"})
    header: bool = attrs.field(default=True, metadata={"help": "Write a header row (CSV)"})
    line_terminator: str = "\r\n"
    sheet_name: str = attrs.field(default="data", metadata={"help": "XLSX sheet name"})
    null: str = attrs.field(default="", metadata={"help": "Text written for NULL (CSV)"})
    decimal_separator: str = attrs.field(default=".", metadata={
        "choices": (".", ","), "help": "CSV: the decimal mark of floats and decimals"})
    locale: str | None = attrs.field(default=None, metadata={
        "help": "CSV preset (see pstt_core.formats.locales): excel-it or excel"})
    iso_text_dates: bool = attrs.field(default=True, metadata={
        "help": "XLSX: write a text column holding ISO 8601 dates/timestamps as date cells"})


class FormatWriter(abc.ABC):
    def __init__(self, fileobj: IO[bytes], columns: Sequence[str], options: FormatOptions):
        self.fileobj = fileobj
        self.columns = list(columns)
        self.options = options
        self.rows = 0

    @abc.abstractmethod
    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def close(self) -> None:  # noqa: B027 - formats without a trailer need nothing
        """Write any trailer; does not close ``fileobj``."""


@attrs.frozen
class OutputFormat:
    name: str
    extension: str
    media_type: str
    writer: Callable[[IO[bytes], Sequence[str], FormatOptions], FormatWriter]
    description: str = ""
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    # Whether the output may be gzip-compressed as a stream (zip formats already are).
    compressible: bool = True
    # Checks options before a run (raise ConfigError(path=<option>)), e.g. a sheet name.
    check_options: Callable[[FormatOptions], None] | None = None

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def unavailable_reason(self) -> str | None:
        reason = unavailable_reason(self.requires, self.install_hint)
        return f"format {self.name!r}: {reason}" if reason else None

    def check(self, options: FormatOptions) -> None:
        """Refuse options this format cannot write (``ConfigError`` naming the option)."""
        check_locale(options)
        if self.check_options is not None:
            self.check_options(with_locale(options))

    def open(self, fileobj: IO[bytes], columns: Sequence[str],
             options: FormatOptions | None = None) -> FormatWriter:
        """A writer; a ``locale`` preset is resolved here, so writers see plain options."""
        options = options or FormatOptions()
        problem = locale_problem(options)
        if problem:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        return self.writer(fileobj, columns, with_locale(options))


def pick_format(formats: Mapping[str, OutputFormat], name: str) -> OutputFormat:
    """``formats[name]``, or a ``ConfigError`` saying which exist or how to install it."""
    try:
        fmt = formats[name]
    except KeyError:
        known = ", ".join(sorted(formats)) or "none"
        raise ConfigError(f"unknown format {name!r}; available: {known}") from None
    if not fmt.available:
        raise ConfigError(fmt.unavailable_reason or f"format {name!r} unavailable")
    return fmt
