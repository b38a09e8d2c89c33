"""``POST /api/preview``: the first rows of a query, read-only, before it is saved."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import ConfigError
from ...preview import MAX_PREVIEW_ROWS, PREVIEW_ROWS, PREVIEW_TIMEOUT_SEC, preview
from ..data import redact
from ..responses import error, json_body


async def preview_query(request: Request) -> Response:
    body = await json_body(request)
    connection, query = body.get("connection"), body.get("query")
    if not isinstance(connection, str) or not connection:
        raise ConfigError("must be the name of a database connection", path="connection")
    if not isinstance(query, str):
        raise ConfigError("must be the SQL text", path="query")
    limit = body.get("limit", PREVIEW_ROWS)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PREVIEW_ROWS:
        raise ConfigError(f"must be a whole number from 1 to {MAX_PREVIEW_ROWS}", path="limit")
    pstt = request.app.state.pstt
    # a database without a statement time limit of its own may go on; the answer does not wait
    with anyio.move_on_after(PREVIEW_TIMEOUT_SEC + 5):
        result = await anyio.to_thread.run_sync(
            lambda: preview(pstt, connection, query, limit=limit), abandon_on_cancel=True)
        return JSONResponse(redact(result))
    return error(504, f"the preview did not finish within {PREVIEW_TIMEOUT_SEC:g} s")


routes = [Route("/api/preview", preview_query, methods=["POST"])]
