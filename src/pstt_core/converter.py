"""The cattrs converter and the translation of its errors into :class:`ConfigError`.

One converter serves the core and every plugin, so that a plugin's option class gets the
same error messages (file + JSON path) as the core's models.
"""

from __future__ import annotations

import contextlib
import difflib
import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

from .errors import ConfigError
from .models import RunRecord, Schedule, Trigger
from .values import parse_bool

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True)


def _strict_bool(value: Any, _cls: type) -> bool:
    """true/false, also spelled as files of other tools do ("yes", "off", 1, 0); anything
    else is an error — cattrs' default ``bool("no")`` would silently mean True."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    parsed = parse_bool(value) if isinstance(value, str) else None
    if parsed is not None:
        return parsed
    raise ValueError(f"expected true or false, got {value!r}")


def _strict_int(value: Any, _cls: type) -> int:
    """Whole numbers (also as digit strings); never silently truncate 2.5 or accept true."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"expected a whole number, got {value!r}")


def _strict_float(value: Any, _cls: type) -> float:
    """A finite number: NaN and infinities would pass every ``<`` / ``>`` bound unnoticed."""
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(f"number too large: {str(value)[:20]}…") from None
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value)
    if number is None:
        raise ValueError(f"expected a number, got {value!r}"[:200])
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _strict_str(value: Any, _cls: type) -> str:
    """Text; a number is taken as its text (a numeric password), an object or list is not."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {value!r}")


converter.register_structure_hook(bool, _strict_bool)
converter.register_structure_hook(int, _strict_int)
converter.register_structure_hook(float, _strict_float)
converter.register_structure_hook(str, _strict_str)


@attrs.frozen
class ListFromText:
    """Mark a list field as also accepting one string, split by ``split``:
    ``servers: Annotated[list[str], ListFromText(split_commas)]`` reads ``"a:1, b:2"`` and
    ``["a:1", "b:2"]`` alike (without it, a string would become a list of characters)."""

    split: Callable[[str], list[Any]]


def _list_from_text(type_: Any) -> ListFromText | None:
    if get_origin(type_) is not Annotated:
        return None
    return next((m for m in type_.__metadata__ if isinstance(m, ListFromText)), None)


def _structure_list_from_text(value: Any, type_: Any) -> Any:
    marker = _list_from_text(type_)
    assert marker is not None
    return converter.structure(marker.split(value) if isinstance(value, str) else value,
                               get_args(type_)[0])


converter.register_structure_hook_func(lambda t: _list_from_text(t) is not None,
                                       _structure_list_from_text)


def _structure_lenient(cls: type) -> Any:
    """Ignore unknown keys: files written by other versions may carry fields we do not know."""
    return make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=False)


converter.register_structure_hook(Trigger, _structure_lenient(Trigger))
_schedule_known = {a.name for a in attrs.fields(Schedule)} - {"extra"}
_structure_schedule_base = make_dict_structure_fn(Schedule, converter, _cattrs_forbid_extra_keys=False)


def _structure_schedule(data: Any, cls: type) -> Schedule:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    extra = {k: v for k, v in data.items() if k not in _schedule_known}
    known = {k: v for k, v in data.items() if k in _schedule_known}
    known["extra"] = {**known.get("extra", {}), **extra}
    return _structure_schedule_base(known, cls)


converter.register_structure_hook(Schedule, _structure_schedule)


def _unstructure_schedule(s: Schedule) -> dict[str, Any]:
    data = {a.name: converter.unstructure(getattr(s, a.name)) for a in attrs.fields(Schedule)
            if a.name != "extra"}
    data["trigger"] = {k: v for k, v in data["trigger"].items() if v is not None}
    for key, value in s.extra.items():
        data.setdefault(key, value)
    return data


converter.register_unstructure_hook(Schedule, _unstructure_schedule)
converter.register_unstructure_hook(RunRecord, RunRecord.to_dict)


def _format_exception(exc: BaseException, type_: Any) -> str:
    """Our own hooks' messages say what was expected and what came; keep them."""
    if isinstance(exc, ValueError) and str(exc).startswith("expected "):
        return str(exc)
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        names = [a.name for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        guesses = [f"{x} (did you mean {close[0]}?)" if close else x
                   for x in sorted(exc.extra_fields)
                   for close in [difflib.get_close_matches(x, names, n=1, cutoff=0.75)]]
        return (f"extra fields found ({', '.join(guesses)})"
                + (f"; known fields: {', '.join(names)}" if names else ""))
    if "not in literal" in str(exc):
        choices = ", ".join(str(c) for c in getattr(type_, "__args__", ()))
        value = str(exc).split(" not in literal")[0]
        return f"{value!r} is not one of: {choices}"
    return cattrs.v.format_exception(exc, type_)


def _describe(exc: BaseException, path: str) -> list[tuple[str, str]]:
    """Flatten a cattrs exception group into (json path, message) pairs."""
    out: list[tuple[str, str]] = []
    for message in cattrs.transform_error(exc, path=path, format_exception=_format_exception):
        text, _, where = message.rpartition(" @ ")
        if not text:
            text, where = message, path
        if text.startswith("unknown error (") and text.endswith(")"):
            text = text[len("unknown error ("):-1]
        out.append((where, text.replace("typing.Literal", "one of ")))
    return out


def structure(data: Any, cls: type[T], *, file: str | None = None, path: str = "$") -> T:
    """Build ``cls`` from JSON data; any problem becomes a ConfigError naming file and path."""
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        problems = _describe(exc, path) if isinstance(exc, cattrs.BaseValidationError) else [
            (path, str(exc))]
        where, text = problems[0]
        more = f" (and {len(problems) - 1} more problem(s): " + "; ".join(
            f"{w}: {t}" for w, t in problems[1:4]) + ")" if len(problems) > 1 else ""
        raise ConfigError(text + more, file=file, path=where,
                          problems=[(w, t) for w, t in problems]) from None


def unstructure(obj: Any) -> Any:
    return converter.unstructure(obj)
