"""Conversion of values: database values to text and to lossless JSON, and the words PSTT
reads as true or false (settings, JSON files, query strings)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_bool(text: str) -> bool | None:
    """``True`` / ``False`` for true/false, yes/no, on/off, 1/0 (any case, surrounding space
    ignored); ``None`` for anything else."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def decimal_text(value: Decimal) -> str:
    """Exact fixed-point text: ``Decimal('0E-10')`` → ``0.0000000000``, never exponent form."""
    return format(value, "f") if value.is_finite() else str(value)


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback: lossless representations for non-JSON types.

    datetime/date/time → ISO 8601 (offset kept); Decimal → exact fixed-point string (no float
    rounding); UUID → canonical string; bytes → base64; timedelta → seconds as a string.
    """
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


_encoder = json.JSONEncoder(ensure_ascii=False, default=json_default, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON with :func:`json_default` for non-JSON types."""
    return _encoder.encode(value)


def to_text(value: Any) -> Any:
    """A value for a text cell (CSV): ``None`` stays ``None`` (written empty).

    Timestamps use ISO 8601 with a space between date and time (``2026-01-31 08:00:00+01:00``),
    which spreadsheet programs recognise; decimals are exact fixed-point; bytes are base64.
    """
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (dict, list)):
        return dumps(value)
    return str(value)
