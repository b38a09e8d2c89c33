"""Per-session CSRF tokens: created when a page is rendered, checked by the Guard middleware
for state-changing browser requests (header ``X-CSRF-Token`` or form field ``csrf_token``)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any


def ensure_csrf(session: MutableMapping[str, Any]) -> str:
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def csrf_ok(session: MutableMapping[str, Any], supplied: str) -> bool:
    expected = str(session.get("csrf", ""))
    return bool(expected) and hmac.compare_digest(expected.encode(), supplied.encode())
