"""JSON helpers shared by core and plugin API handlers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import ConfigError


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """``{"error": message, ...}`` with a 4xx/5xx status."""
    return JSONResponse({"error": message, **extra}, status_code=status)


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or ConfigError (→ 400) saying what is wrong."""
    raw = await request.body()
    if not raw:
        raise ConfigError("request body is empty; send a JSON object", path="$")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"request body is not valid JSON: {exc}", path="$") from None
    if not isinstance(data, dict):
        raise ConfigError("request body must be a JSON object", path="$")
    return data
