"""Query-string parsing for API handlers: a bad value is a 400 naming the parameter."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from starlette.requests import Request

from ...errors import ConfigError
from ...values import parse_bool


def int_param(request: Request, name: str, default: int, *, minimum: int = 0,
              maximum: int = 1_000_000) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"query parameter {name!r} must be a whole number, got {raw!r}",
                          path=name) from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"query parameter {name!r} must be between {minimum} and {maximum}",
                          path=name)
    return value


def bool_param(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    flag = parse_bool(raw) if raw.strip() else False  # "?flag=" means false
    if flag is not None:
        return flag
    raise ConfigError(f"query parameter {name!r} must be true or false, got {raw!r}", path=name)


def choice_param(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in choices:
        raise ConfigError(f"query parameter {name!r} must be one of {', '.join(choices)}; got {raw!r}",
                          path=name)
    return raw.lower()


def time_param(request: Request, name: str) -> datetime | None:
    """An ISO 8601 date or date-time; naive values are taken as UTC."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif re.search(r"T[\d:.]+ \d\d:?\d\d$", text):  # an unencoded '+' arrives as a space
        text = text[:text.rindex(" ")] + "+" + text[text.rindex(" ") + 1:]
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"query parameter {name!r} must be an ISO 8601 date-time "
                          f"(e.g. 2026-01-21T08:00:00Z), got {raw!r}", path=name) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def text_param(request: Request, name: str, *, max_length: int = 200) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_length:
        raise ConfigError(f"query parameter {name!r} is longer than {max_length} characters",
                          path=name)
    return raw
