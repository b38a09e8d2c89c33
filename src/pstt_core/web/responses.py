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
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"request body is not valid JSON: {exc}", path="$") from None
    if not isinstance(data, dict):
        raise ConfigError("request body must be a JSON object", path="$")
    return data
