"""Text templates of sinks (file names, e-mail subjects and bodies): ``str.format`` over a
closed set of names, with bounds.

Only plain placeholder names are allowed (``{rows}``, ``{run_time:%Y-%m-%d}``): attribute and
index lookups (``{run_time.__class__}``, ``{values[0]}``) are refused, so a template cannot
reach into objects. A width or precision is at most ``MAX_WIDTH`` (``{ext:>20000000}`` would
allocate 20 MB per run), and a template at most ``MAX_TEMPLATE_CHARS`` long.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

MAX_WIDTH = 200
MAX_TEMPLATE_CHARS = 10_000

_NUMBERS = re.compile(r"\d+")
# strftime widths (glibc: %010Y) are the only numbers of a date format that allocate
_STRFTIME_WIDTHS = re.compile(r"%[-_0^#]*(\d+)")


class TemplateError(ValueError):
    """A template that cannot be rendered; ``placeholder`` is set for an unknown name."""

    def __init__(self, message: str, placeholder: str | None = None):
        super().__init__(message)
        self.placeholder = placeholder


class _Restricted(string.Formatter):
    def __init__(self, allowed: Sequence[str]):
        super().__init__()
        self.allowed = set(allowed)

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if field_name in self.allowed:
            return kwargs[field_name], field_name
        if any(c in field_name for c in ".["):
            raise TemplateError(f"{{{field_name}}}: attribute and index lookups are not allowed; "
                                "use a plain placeholder name")
        raise TemplateError(f"unknown placeholder {{{field_name or ''}}}",
                            placeholder=field_name or "{}")

    def format_field(self, value: Any, format_spec: str) -> Any:
        numbers = (_STRFTIME_WIDTHS.findall(format_spec) if isinstance(value, date | time)
                   else _NUMBERS.findall(format_spec))
        if any(len(n) > 3 or int(n) > MAX_WIDTH for n in numbers):
            raise TemplateError(f"format width or precision in {format_spec[:50]!r} is too large "
                                f"(at most {MAX_WIDTH})")
        return super().format_field(value, format_spec)


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with ``values``' names filled in; a ``TemplateError`` says what is wrong
    (unknown name — its ``placeholder`` —, a lookup, a width over ``MAX_WIDTH``, a bad
    format, an unbalanced brace)."""
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"template is {len(template)} characters long (at most "
                            f"{MAX_TEMPLATE_CHARS})")
    try:
        return _Restricted(list(values)).vformat(template, (), values)
    except TemplateError:
        raise
    except (ValueError, IndexError, TypeError, KeyError) as exc:
        raise TemplateError(str(exc)[:300]) from None


__all__ = ["MAX_TEMPLATE_CHARS", "MAX_WIDTH", "TemplateError", "render_template"]
