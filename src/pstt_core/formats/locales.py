"""Locale presets for files people open in a spreadsheet program: ``locale: "excel-it"``.

A preset is a set of CSV option values. It fills in every option still at its built-in
default, so an option given explicitly wins (as keyword arguments win over a ``csv``
dialect). Presets are resolved when a format is checked or opened
(:meth:`OutputFormat.check`, :meth:`OutputFormat.open`), never stored in a schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigError

if TYPE_CHECKING:
    from . import FormatOptions

# Excel reads a CSV with the list separator and decimal symbol of the Windows region it runs
# in: Italian (and most European) regions use ';' and ','; English ones ',' and '.'. Both
# want a BOM to read UTF-8 and accept CRLF line ends.
CSV_LOCALES: Mapping[str, Mapping[str, Any]] = {
    "excel-it": {"delimiter": ";", "decimal_separator": ",", "encoding": "utf-8-sig",
                 "line_terminator": "\r\n"},
    "excel": {"delimiter": ",", "decimal_separator": ".", "encoding": "utf-8-sig",
              "line_terminator": "\r\n"},
}
DECIMAL_SEPARATORS = (".", ",")
LOCALE_HELP = ("Preset for Excel: excel-it (Italian/European regions) writes ';' between "
               "fields, a decimal comma, UTF-8 with BOM and CRLF; excel the same with ',' and "
               "'.'. An option set below wins over the preset")


def locale_problem(options: FormatOptions) -> tuple[str, str] | None:
    """``(option, why)`` when the locale or decimal options cannot be written, else None."""
    if options.locale and options.locale not in CSV_LOCALES:
        return "locale", (f"unknown locale {options.locale!r}; use one of {', '.join(CSV_LOCALES)} "
                          "(or leave it empty)")
    resolved = with_locale(options)
    if resolved.decimal_separator not in DECIMAL_SEPARATORS:
        return "decimal_separator", (f"decimal_separator must be '.' or ',' "
                                     f"(got {resolved.decimal_separator!r})")
    if resolved.decimal_separator == resolved.delimiter:
        return "decimal_separator", (f"the decimal separator {resolved.delimiter!r} is also the "
                                     "delimiter; with a decimal comma use delimiter ';'")
    return None


def check_locale(options: FormatOptions) -> None:
    problem = locale_problem(options)
    if problem:
        raise ConfigError(problem[1], path=problem[0])


def with_locale(options: FormatOptions) -> FormatOptions:
    """``options`` with the preset of its ``locale`` filled in where an option is at its
    default; unchanged without a (known) locale."""
    preset = CSV_LOCALES.get(options.locale or "")
    if not preset:
        return options
    defaults = {f.name: f.default for f in attrs.fields(type(options))}
    changes = {k: v for k, v in preset.items() if getattr(options, k) == defaults[k]}
    return attrs.evolve(options, **changes)
