"""Exception handlers: every error leaves the app as JSON ``{"error": ...}``, never a traceback.

Page requests (not ``/api``) that hit a 404/405 get a small HTML page instead, with the menu.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    PsttError,
    RecordNotWrittenError,
    StateFileError,
    StateUnavailableError,
)
from ..logs import logging_to, redactor
from .data import redact
from .responses import UnsupportedMediaType, error

log = logging.getLogger("pstt.web")


def _respond(request: Request, status: int, message: str, **extra: Any) -> Response:
    """JSON for the API (and anything not a page); a small HTML page for page requests."""
    message = redactor.redact(message)
    path = request.url.path[len(request.scope.get("root_path", "")):]
    if request.method == "GET" and not path.startswith(("/api", "/metrics", "/static")):
        from .templating import render

        return render(request, "error.html", {"status": status, "message": message},
                      status_code=status)
    return error(status, message, **extra)


async def config_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConfigError)
    # file paths are the server's business; the JSON path is what the client can fix
    extra: dict[str, Any] = {"path": exc.path}
    if len(exc.problems) > 1:  # a form shows each one next to its field
        extra["errors"] = [{"path": p, "error": redactor.redact(m)} for p, m in exc.problems]
    return _respond(request, 400, exc.message if exc.path else str(exc), **extra)


async def state_file_error(request: Request, exc: Exception) -> Response:
    """A damaged state file is the server's problem, not the request's: 503 with what is
    wrong and where (the file name relative to the home)."""
    assert isinstance(exc, StateFileError)
    return _respond(request, 503, _home_relative(request, str(exc)), path=exc.path)


async def state_unavailable(request: Request, exc: Exception) -> Response:
    """The state database is away: the server's problem, and a retry later may work."""
    response = _respond(request, 503, str(exc))
    response.headers["Retry-After"] = "10"
    return response


async def record_not_written(request: Request, exc: Exception) -> Response:
    """The run happened but its record is not in the history: never a success answer."""
    assert isinstance(exc, RecordNotWrittenError)
    record = redact(exc.record.to_dict()) if hasattr(exc.record, "to_dict") else None
    return _respond(request, 503, _home_relative(request, str(exc)), record=record,
                    kept_at=exc.kept_at)


def _home_relative(request: Request, text: str) -> str:
    root = str(request.app.state.pstt.home.root)
    return text.replace(root + "/", "").replace(root, ".")


async def not_found(request: Request, exc: Exception) -> Response:
    return _respond(request, 404, str(exc))


async def conflict(request: Request, exc: Exception) -> Response:
    return _respond(request, 409, str(exc))


async def unsupported(request: Request, exc: Exception) -> Response:
    return error(415, str(exc))


async def pstt_error(request: Request, exc: Exception) -> Response:
    return _respond(request, 400, str(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=headers)
    response = _respond(request, exc.status_code, str(exc.detail))
    response.headers.update(headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    # Starlette calls this outermost, after LogToHome has returned: route the line again
    with logging_to(request.app.state.pstt.home.logs):
        log.error("unhandled error on %s %s: %s: %s", request.method, request.url.path,
                  type(exc).__name__, exc, exc_info=exc)
    return error(500, "internal server error; see the application log")


HANDLERS: dict[Any, Any] = {
    StateFileError: state_file_error,
    RecordNotWrittenError: record_not_written,
    StateUnavailableError: state_unavailable,
    ConfigError: config_error,
    NotFoundError: not_found,
    ConflictError: conflict,
    UnsupportedMediaType: unsupported,
    PsttError: pstt_error,
    HTTPException: http_error,
    Exception: server_error,
}
