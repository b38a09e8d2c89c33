"""ASGI middleware: log routing, Host and Origin checks, request size limit, authentication,
CSRF, security headers.

Order in the app (outermost first): :class:`LogToHome` → :class:`HostCheck` →
:class:`BodyLimit` → Starlette's ``SessionMiddleware`` → :class:`Guard`. They are plain ASGI
classes, so they also work when the PSTT app is mounted inside another application.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logs import logging_to
from .auth import authenticated, bearer_token, is_public, wants_json
from .csrf import csrf_ok
from .hosts import AllowedHosts, split_host

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin")]


class LogToHome:
    """Log lines written while a request is handled go to this app's home only (one
    process may serve several homes, each app mounted under its own prefix)."""

    def __init__(self, app: ASGIApp, logs: Path):
        self.app, self.logs = app, logs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with logging_to(self.logs):
            await self.app(scope, receive, send)


class HostCheck:
    """Before anything else, GET included: a ``Host`` the service is not known by gets 400
    (DNS rebinding: a foreign page whose name now points to this machine); a state-changing
    request from another origin (``Origin`` not this one, or ``Sec-Fetch-Site: cross-site``)
    gets 403, whatever cookie or CSRF token it carries."""

    def __init__(self, app: ASGIApp, hosts: AllowedHosts):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        host = headers.get("host")
        # a browser always sends Host; a request without one cannot come from a page
        if host is not None and not self.hosts.allows(split_host(host)):
            return await send_json(send, 400, {
                "error": f"unknown host {host[:100]!r}: this service answers to localhost, its "
                         "bind address and the names in PSTT_ALLOWED_HOSTS"})
        if scope.get("method") in UNSAFE:
            origin = headers.get("origin")
            if origin is not None and not self.hosts.allows_origin(origin, host or ""):
                return await send_json(send, 403, {
                    "error": f"cross-origin request refused (Origin {origin[:100]!r})"})
            if headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
                return await send_json(send, 403, {
                    "error": "cross-site request refused (Sec-Fetch-Site: cross-site)"})
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit} bytes (PSTT_MAX_REQUEST_BYTES)")


def route_path(scope: Scope) -> str:
    """The path inside this app (without the prefix it is mounted under)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
        *SECURITY_HEADERS, *(headers or [])]})
    await send({"type": "http.response.body", "body": raw})


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = Headers(scope=scope).get("content-length", "")
        too_large = BodyTooLarge(self.limit)
        if length.isdigit() and int(length) > self.limit:
            return await send_json(send, 413, {"error": too_large.detail})
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise too_large
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await send_json(send, 413, {"error": too_large.detail})


class Guard:
    """Authentication (bearer token or login session) and CSRF for state-changing requests.

    * No ``PSTT_API_TOKEN``: everything is open, but a browser request (one carrying a
      cookie, ``Origin`` or ``Sec-Fetch-Site``) that changes state still needs the CSRF token.
    * With a token: ``/api/*`` and ``/metrics`` need ``Authorization: Bearer <token>`` or a
      logged-in session; pages redirect to ``/login``. Bearer requests are CSRF-exempt.
    """

    def __init__(self, app: ASGIApp, token: Callable[[], str]):
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        token = self.token()
        path = route_path(scope)
        headers = Headers(scope=scope)
        session = scope.get("session", {})  # pages create the CSRF token (templating.render)
        bearer = bearer_token(headers)
        if bearer is not None and token and not authenticated(bearer, {}, token):
            return await send_json(send, 401, {"error": "invalid API token"},
                                   [(b"www-authenticate", b'Bearer realm="pstt"')])
        if not is_public(path) and not authenticated(bearer, session, token):
            if wants_json(path):
                return await send_json(send, 401, {
                    "error": "authentication required: send 'Authorization: Bearer <PSTT_API_TOKEN>'"},
                    [(b"www-authenticate", b'Bearer realm="pstt"')])
            return await self._to_login(scope, send, path)
        if scope["method"] in UNSAFE and bearer is None and self._from_browser(headers, token):
            supplied, receive = await self._supplied_csrf(headers, receive)
            if not csrf_ok(session, supplied):
                return await send_json(send, 403, {
                    "error": "missing or invalid CSRF token: reload the page and try again"})
        await self.app(scope, receive, self._secure(send))

    @staticmethod
    def _from_browser(headers: Headers, token: str) -> bool:
        return bool(token) or any(h in headers for h in ("cookie", "origin", "sec-fetch-site"))

    @staticmethod
    async def _supplied_csrf(headers: Headers, receive: Receive) -> tuple[str, Receive]:
        """The token from ``X-CSRF-Token`` or, for a urlencoded form, its ``csrf_token`` field
        (the body is read here and replayed to the handler)."""
        if headers.get("x-csrf-token"):
            return headers["x-csrf-token"], receive
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return "", receive
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(chunks)
        field = parse_qs(body.decode("utf-8", "replace")).get("csrf_token", [""])[0]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return field, replay

    @staticmethod
    async def _to_login(scope: Scope, send: Send, path: str) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        location = f"{scope.get('root_path', '')}/login?next={quote(target, safe='')}"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1")), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    def _secure(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)
        return wrapped
