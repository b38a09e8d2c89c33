"""Watermarks of incremental schedules: ``exports/watermarks.json``, or the state database.

A watermark is the cursor of the last row an incremental schedule delivered, read from the
data and kept with its type, so that it is bound back exactly as the database returned it
(a timestamptz with its offset, a naive DATETIME, ISO text, a Decimal, a big integer).

The interface is small on purpose — :meth:`WatermarkStore.get`, :meth:`~WatermarkStore.all`,
:meth:`~WatermarkStore.commit` (compare-and-set, called when a successful run's record is
written), :meth:`~WatermarkStore.set` and :meth:`~WatermarkStore.reset` — so that another
state backend can hold the same documents.

On disk::

    {"watermarks": {"<schedule id>": {"column": "updated_at", "tiebreaker": "id",
        "value": "2026-01-21T08:00:00+00:00", "type": "datetime",
        "tiebreaker_value": "42", "tiebreaker_type": "int",
        "updated_at": "…", "export_id": "…", "source": "run" | "set"}}}
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ConfigError, StateFileError
from .models import iso, utcnow
from .state import json_kind
from .values import decimal_text

if TYPE_CHECKING:
    from .backend import StateBackend

log = logging.getLogger("pstt.watermarks")

# Cursor value types and how each is written: every value is JSON text or a number that
# reads back as exactly the same Python value.
TYPES = ("datetime", "date", "int", "decimal", "float", "text")


def encode_value(value: Any) -> tuple[str, Any]:
    """``(type, JSON value)`` of a cursor value; ``ValueError`` for a type no cursor has."""
    if isinstance(value, bool):
        raise ValueError("a boolean cannot be a cursor")
    if isinstance(value, datetime):
        return "datetime", value.isoformat()
    if isinstance(value, date):
        return "date", value.isoformat()
    if isinstance(value, int):
        return "int", str(value)  # as text: JSON readers other than Python round big ones
    if isinstance(value, Decimal):
        return "decimal", decimal_text(value)
    if isinstance(value, float):
        return "float", value
    if isinstance(value, str):
        return "text", value
    raise ValueError(f"a {type(value).__name__} value cannot be a cursor (use a timestamp, "
                     f"date, integer, numeric or text column)")


def decode_value(kind: str, value: Any) -> Any:
    """The Python value of an encoded one; ``ValueError`` saying what is wrong."""
    if kind not in TYPES:
        raise ValueError(f"unknown type {kind!r}; one of: {', '.join(TYPES)}")
    try:
        if kind == "datetime":
            return datetime.fromisoformat(_text(value))
        if kind == "date":
            return date.fromisoformat(_text(value))
        if kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            return int(_text(value).strip())
        if kind == "decimal":
            if isinstance(value, bool):
                raise ValueError("not a number")
            return Decimal(_text(value) if isinstance(value, str) else str(value))
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError("not a number")
            return float(value)
        return _text(value)
    except (ValueError, ArithmeticError) as exc:
        raise ValueError(f"{value!r} is not a valid {kind} value") from exc


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {json_kind(value)}")
    return value


@attrs.frozen
class Mark:
    """A position of the cursor: its value and, with a tiebreaker, the tiebreaker's."""

    value: Any
    tiebreaker: Any = None

    def to_json(self) -> dict[str, Any]:
        kind, value = encode_value(self.value)
        out: dict[str, Any] = {"value": value, "type": kind}
        if self.tiebreaker is not None:
            tkind, tvalue = encode_value(self.tiebreaker)
            out.update(tiebreaker_value=tvalue, tiebreaker_type=tkind)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Mark:
        """A mark from its JSON form (``ValueError`` naming the bad field)."""
        if not isinstance(data, dict):
            raise ValueError(f"a watermark must be an object, not {json_kind(data)}")
        if "value" not in data or data["value"] is None:
            raise ValueError("value: missing")
        try:
            value = decode_value(str(data.get("type", "")), data["value"])
        except ValueError as exc:
            raise ValueError(f"value: {exc}") from None
        tiebreaker = None
        if data.get("tiebreaker_value") is not None:
            try:
                tiebreaker = decode_value(str(data.get("tiebreaker_type", "")),
                                          data["tiebreaker_value"])
            except ValueError as exc:
                raise ValueError(f"tiebreaker_value: {exc}") from None
        return cls(value, tiebreaker)


def same_mark(a: Mark | None, b: Mark | None) -> bool:
    """Equal as stored (type and text), not merely as compared in Python."""
    return (a.to_json() if a else None) == (b.to_json() if b else None)


@attrs.frozen
class Watermark:
    """The stored watermark of one schedule."""

    column: str
    tiebreaker: str | None
    mark: Mark
    updated_at: str | None = None
    export_id: str | None = None
    source: str = "run"

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "tiebreaker": self.tiebreaker, **self.mark.to_json(),
                "updated_at": self.updated_at, "export_id": self.export_id,
                "source": self.source}

    @classmethod
    def from_json(cls, data: Any) -> Watermark:
        mark = Mark.from_json(data)
        if not isinstance(data.get("column"), str) or not data["column"]:
            raise ValueError("column: missing")
        return cls(column=data["column"], tiebreaker=data.get("tiebreaker") or None, mark=mark,
                   updated_at=data.get("updated_at"), export_id=data.get("export_id"),
                   source=str(data.get("source") or "run"))


def validate_watermarks(data: Any, file: str) -> None:
    """A document this store can read: ``{"watermarks": {id: {...}}}``."""
    if not isinstance(data, dict):
        raise StateFileError(f"must be an object, not {json_kind(data)}", file=file, path="$")
    items = data.get("watermarks", {})
    if not isinstance(items, dict):
        raise StateFileError(f"must be an object, not {json_kind(items)}", file=file,
                             path="$.watermarks")
    for sid, item in items.items():
        try:
            Watermark.from_json(item)
        except (ValueError, AttributeError) as exc:
            raise StateFileError(str(exc), file=file, path=f"$.watermarks.{sid}") from None


class WatermarkStore:
    """The watermarks: ``exports/watermarks.json`` (files backend) or the state database's
    document shared by every instance; each change under the document's lock."""

    def __init__(self, backend: StateBackend):
        self.file = backend.document("watermarks", {"watermarks": {}},
                                     validate=validate_watermarks)

    def _items(self) -> dict[str, Any]:
        items: dict[str, Any] = self.file.load().get("watermarks", {})
        return items

    def get(self, schedule_id: str) -> Watermark | None:
        item = self._items().get(schedule_id)
        return Watermark.from_json(item) if item is not None else None

    def all(self) -> dict[str, Watermark]:
        return {sid: Watermark.from_json(item) for sid, item in self._items().items()}

    def _save(self, schedule_id: str, item: dict[str, Any] | None) -> None:
        data = dict(self.file.load())
        items = dict(data.get("watermarks", {}))
        if item is None:
            items.pop(schedule_id, None)
        else:
            items[schedule_id] = item
        self.file.save({**data, "watermarks": items})

    def commit(self, schedule_id: str, *, column: str, tiebreaker: str | None,
               expected: Mark | None, new: Mark, export_id: str) -> bool:
        """Move the watermark to ``new`` if it is still ``expected`` (what the run started
        from); ``False`` when it was set or reset meanwhile (that change stands)."""
        with self.file.lock:
            current = self.get(schedule_id)
            if not same_mark(current.mark if current else None, expected):
                log.warning("run %s of schedule %s did not move the watermark: it was changed "
                            "while the run went on (now %s)", export_id, schedule_id,
                            current.mark.to_json() if current else "reset")
                return False
            self._save(schedule_id, Watermark(column, tiebreaker, new, iso(utcnow()),
                                              export_id, "run").to_json())
            return True

    def set(self, schedule_id: str, *, column: str, tiebreaker: str | None,
            mark: Mark) -> Watermark:
        """Put the watermark at ``mark`` (the next run delivers the rows after it)."""
        watermark = Watermark(column, tiebreaker, mark, iso(utcnow()), None, "set")
        with self.file.lock:
            self._save(schedule_id, watermark.to_json())
        return watermark

    def reset(self, schedule_id: str) -> bool:
        """Forget the watermark (the next run starts from ``start``); ``False`` if none."""
        with self.file.lock:
            if schedule_id not in self._items():
                return False
            self._save(schedule_id, None)
            return True


def parse_mark_input(data: Any, *, like: Mark | None, file: str | None = None,
                     path: str = "$") -> Mark:
    """A mark given by a person (API body, ``pstt watermark set``): ``{"value", "type"?,
    "tiebreaker_value"?, "tiebreaker_type"?}``. Without a type, the current watermark's
    type is used, else the value's JSON type (text stays text)."""
    if not isinstance(data, dict):
        raise ConfigError(f"must be an object with \"value\", not {json_kind(data)}",
                          file=file, path=path)
    known = {"value", "type", "tiebreaker_value", "tiebreaker_type"}
    extra = sorted(set(data) - known)
    if extra:
        raise ConfigError(f"unknown field(s) {', '.join(extra)}; known: {', '.join(sorted(known))}",
                          file=file, path=path)
    if data.get("value") is None:
        raise ConfigError("missing (to forget the watermark, reset it)", file=file,
                          path=f"{path}.value")
    filled = dict(data)
    for field, ref in (("type", like.value if like else None),
                       ("tiebreaker_type", like.tiebreaker if like else None)):
        source = data.get("value" if field == "type" else "tiebreaker_value")
        if source is not None and not filled.get(field):
            filled[field] = encode_value(ref)[0] if ref is not None else guess_type(source)
    try:
        return Mark.from_json(filled)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise ConfigError(message or str(exc), file=file, path=f"{path}.{field}") from None


_INT = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")


def guess_type(value: Any) -> str:
    """The type of a value given without one (a CLI argument, JSON): ``"42"`` is an
    integer, ``"12.50"`` a decimal, ISO-8601 text a date or timestamp, other text text."""
    if isinstance(value, bool):
        return "text"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "decimal"  # exactly the digits written in the JSON
    text = str(value).strip()
    if _INT.match(text):
        return "int"
    if _DECIMAL.match(text):
        return "decimal"
    for kind, parse in (("date", date.fromisoformat), ("datetime", datetime.fromisoformat)):
        if len(text) >= 10 and text[4:5] == "-":
            try:
                parse(text)
            except ValueError:
                continue
            return kind
    return "text"


def user_value(raw: Any, *, like: Any = None) -> Any:
    """A cursor value a person wrote (``start``, ``--from``): of the type of ``like`` (the
    current watermark's value) when there is one, else of :func:`guess_type`'s type."""
    kind = encode_value(like)[0] if like is not None else guess_type(raw)
    return decode_value(kind, raw.strip() if isinstance(raw, str) and kind != "text" else raw)
