"""Message values, keys and headers as bytes (lossless JSON via ``pstt_core.dumps``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pstt_core import ConfigError, dumps, to_text


def encode_value(value: Any, path: str = "value") -> bytes:
    """Strings are sent as UTF-8 text, any other JSON value JSON-encoded."""
    if value is None:
        raise ConfigError("a message needs a value (any JSON value except null)", path=path)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return dumps(value).encode("utf-8")


def encode_key(value: Any) -> bytes | None:
    """A key as UTF-8 text; ``None`` means no key."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    text = to_text(value)
    return str(text).encode("utf-8")


Headers = list[tuple[str, "str | bytes | None"]]


def encode_headers(headers: Any, path: str = "headers") -> Headers | None:
    """``{"name": "value"}`` or ``[["name", "value"], …]`` → librdkafka headers."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: Headers = []
    try:
        for name, value in items:
            if not isinstance(name, str) or not name:
                raise ConfigError(f"header name {name!r} must be a non-empty string", path=path)
            out.append((name, encode_key(value) or b""))
    except (TypeError, ValueError):
        raise ConfigError("headers must be an object of name → value or a list of "
                          "[name, value] pairs", path=path) from None
    return out


def encode_messages(messages: list[dict[str, Any]]) -> list[tuple[bytes, bytes | None, Any]]:
    """Messages checked by the API (``api.parse_batch``) as (value, key, headers) bytes."""
    return [(encode_value(m.get("value"), f"messages[{i}].value"), encode_key(m.get("key")),
             encode_headers(m.get("headers"), f"messages[{i}].headers"))
            for i, m in enumerate(messages)]
