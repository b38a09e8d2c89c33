"""Rows → JSON bytes, fast and lossless.

The reference is :func:`pstt_core.dumps`. When ``orjson`` is installed (it comes with
``pstt[kafka]``) it does the work several times faster; values orjson does not handle the same
way go through the same fallbacks as the reference: datetime/date/time → ``isoformat()``,
Decimal → string, bytes → base64, timedelta → seconds. A row orjson refuses (an integer
beyond 64 bits, a lone surrogate) is encoded by the reference encoder instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pstt_core import dumps, json_default


def _stdlib(value: Any) -> bytes:
    return dumps(value).encode("utf-8", "surrogatepass")


def _make_encoder() -> Callable[[Any], bytes]:
    try:
        import orjson
    except ImportError:
        return _stdlib
    fast = orjson.dumps
    option = orjson.OPT_PASSTHROUGH_DATETIME  # dates via isoformat(), exactly as the reference
    error = orjson.JSONEncodeError

    def encode(value: Any) -> bytes:
        try:
            return fast(value, default=json_default, option=option)
        except error:
            return _stdlib(value)

    return encode


encode_json: Callable[[Any], bytes] = _make_encoder()
# How encode_json writes NaN and infinities: orjson as null, the reference as NaN/Infinity.
NAN_AS = "python" if encode_json is _stdlib else "null"
