"""Token and session helpers, and the login/logout pages.

The token (``PSTT_API_TOKEN``) is the API's bearer token and the login page's password.
A logged-in session stores a fingerprint of the token, so changing the token logs
everybody out. Sessions are signed cookies (Starlette ``SessionMiddleware``: HttpOnly,
SameSite=Lax) keyed by ``PSTT_SECRET_KEY`` or, if unset, a key derived from the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .csrf import ensure_csrf
from .templating import render

PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/login", "/api/health", "/api/openapi.json", "/favicon.ico"})


def fingerprint(token: str) -> str:
    return hmac.new(b"pstt-session", token.encode(), hashlib.sha256).hexdigest()[:32]


def session_secret(secret_key: str, token: str) -> str:
    """``PSTT_SECRET_KEY``, else derived from the token, else random (sessions end at restart)."""
    if secret_key:
        return secret_key
    if token:
        return hashlib.sha256(b"pstt-session-key:" + token.encode()).hexdigest()
    return secrets.token_hex(32)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def wants_json(path: str) -> bool:
    return path.startswith("/api/") or path == "/api" or path == "/metrics"


def bearer_token(headers: Headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


class Revoked:
    """Sessions ended by logout. A session cookie is signed, not stored, so a copy of it
    would keep working until it expires; each login gets a random ``sid`` and logout puts
    it here until the cookie's own expiry. Kept in memory: a restart forgets it (sessions
    signed with a key derived from the token survive restarts; set a new PSTT_SECRET_KEY to
    end every session)."""

    def __init__(self, max_age: float):
        self.max_age = max_age
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, sid: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._until = {k: t for k, t in self._until.items() if t > now}  # forget expired
            self._until[sid] = now + self.max_age

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return isinstance(sid, str) and self._until.get(sid, 0.0) > time.monotonic()


def authenticated(bearer: str | None, session: MutableMapping[str, Any], token: str,
                  revoked: Revoked | None = None) -> bool:
    if not token:
        return True
    if bearer is not None:
        return hmac.compare_digest(bearer.encode(), token.encode())
    sid = session.get("sid")
    if not isinstance(sid, str) or not sid or (revoked is not None and sid in revoked):
        return False  # logged out, or a session from before sessions had an id
    return hmac.compare_digest(str(session.get("auth", "")), fingerprint(token))


def _safe_next(value: str | None) -> str:
    """Only a local path is a valid redirect target (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def login_page(request: Request) -> Response:
    token = request.app.state.pstt.settings["PSTT_API_TOKEN"]
    nxt = _safe_next(request.query_params.get("next"))
    return render(request, "login.html", {"next": nxt, "auth_enabled": bool(token), "error": ""})


async def login_submit(request: Request) -> Response:
    token = request.app.state.pstt.settings["PSTT_API_TOKEN"]
    form = await request.form()
    nxt = _safe_next(str(form.get("next") or "/"))
    root = request.scope.get("root_path", "")
    if not token:
        return RedirectResponse(root + nxt, status_code=303)
    supplied = str(form.get("token") or "")
    if not hmac.compare_digest(supplied.encode(), token.encode()):
        await asyncio.sleep(0.3)  # slows down guessing without blocking the loop
        return render(request, "login.html", {"next": nxt, "auth_enabled": True,
                                              "error": "Wrong token."}, status_code=401)
    request.session.clear()
    request.session["auth"] = fingerprint(token)
    request.session["sid"] = secrets.token_urlsafe(16)
    ensure_csrf(request.session)  # a fresh CSRF token for the new session
    return RedirectResponse(root + nxt, status_code=303)


async def logout(request: Request) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str) and sid:
        request.app.state.revoked_sessions.add(sid)  # a saved copy of the cookie stops working
    request.session.clear()
    return RedirectResponse(request.scope.get("root_path", "") + "/login", status_code=303)


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
