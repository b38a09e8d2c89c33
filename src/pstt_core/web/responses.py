"""JSON helpers shared by core and plugin API handlers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import ConfigError, PsttError


class UnsupportedMediaType(PsttError):
    """The request body is not JSON (→ 415)."""


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """``{"error": message, ...}`` with a 4xx/5xx status."""
    return JSONResponse({"error": message, **extra}, status_code=status)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises ``UnsupportedMediaType`` (→ 415) when the body is not sent as
    ``application/json`` and ``ConfigError`` (→ 400) saying what is wrong otherwise.
    """
    raw = await request.body()
    if not raw:
        raise ConfigError("request body is empty; send a JSON object", path="$")
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType("send the request body as JSON (Content-Type: application/json)")
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ConfigError("request body must be a JSON object", path="$")
    return data


# Deeper than any real request; recursive code further on (redaction, cattrs) stays far from
# Python's recursion limit.
MAX_JSON_DEPTH = 32


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send a finite number or null")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no ``NaN`` / ``Infinity``, no integer of more than 4300 digits, at most
    ``MAX_JSON_DEPTH`` levels, no NUL character in a string; each a ConfigError (→ 400)."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"request body is not valid JSON: {exc}"[:300], path="$") from None
    except RecursionError:
        raise ConfigError(f"request body is nested deeper than {MAX_JSON_DEPTH} levels",
                          path="$") from None
    except ValueError as exc:  # NaN / Infinity, an integer of thousands of digits
        raise ConfigError(f"request body is not valid JSON: {exc}"[:300], path="$") from None
    _check_values(data)
    return data


def _check_values(data: Any) -> None:
    stack: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ConfigError(f"request body is nested deeper than {MAX_JSON_DEPTH} levels",
                              path=path[:200])
        if isinstance(value, str) and "\x00" in value:
            raise ConfigError("text must not contain a NUL character", path=path)
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise ConfigError("a key must not contain a NUL character", path=path)
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
