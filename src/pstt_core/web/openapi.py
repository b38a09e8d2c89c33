"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the core API (hand-maintained,
fuzzed by the test suite), plus plugin routes whose endpoint carries an ``openapi``
attribute: ``{"get": {operation object}, ...}`` (paths of ``Mount`` children are joined)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from .openapi_spec import core_document


def plugin_paths(routes: list[BaseRoute], prefix: str = "") -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if isinstance(route, Mount):
            for path, ops in plugin_paths(list(route.routes), prefix + route.path).items():
                paths.setdefault(path, {}).update(ops)
        elif isinstance(route, Route):
            spec = getattr(route.endpoint, "openapi", None)
            if isinstance(spec, dict):
                paths.setdefault(prefix + route.path, {}).update(
                    {method.lower(): op for method, op in spec.items() if isinstance(op, dict)})
    return paths


def document(request: Request) -> dict[str, Any]:
    doc = core_document()
    for path, ops in plugin_paths(request.app.state.plugin_routes).items():
        doc["paths"].setdefault(path, {}).update(ops)
    root = request.scope.get("root_path", "")
    if root:
        doc["servers"] = [{"url": root}]
    return doc


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document(request))


routes = [Route("/api/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)]
