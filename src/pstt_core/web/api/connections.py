"""Connections: databases and plugin sections (secrets masked), and their tests."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import ConfigError, NotFoundError
from ..data import connections_view, redact

if TYPE_CHECKING:
    from ...facade import Pstt


async def list_connections(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(connections_view, request.app.state.pstt))


async def test_database(request: Request) -> Response:
    pstt = request.app.state.pstt
    name = request.path_params["name"]
    if name not in pstt.config.databases:
        raise NotFoundError(f"no database connection named {name!r}")
    return JSONResponse(redact(await run_in_threadpool(pstt.databases.test, name)))


def _run_section_test(pstt: Pstt, section_name: str, name: str) -> dict[str, Any]:
    section = pstt.registry.sections.get(section_name)
    if section is None:
        raise NotFoundError(f"no connection section named {section_name!r}")
    if name not in pstt.config.section(section_name):
        raise NotFoundError(f"no entry named {name!r} in {section_name!r}")
    if section.test is None:
        raise ConfigError(f"section {section_name!r} offers no connection test", path=section_name)
    t0 = time.perf_counter()
    try:
        result = dict(section.test(pstt.owner_env("config section", section_name), name))
    except Exception as exc:  # a plugin's failing test is a result, not a server error
        result = {"name": name, "success": False, "error": f"{type(exc).__name__}: {exc}",
                  "latency_ms": round((time.perf_counter() - t0) * 1000, 2)}
    result.setdefault("name", name)
    return result


async def test_section(request: Request) -> Response:
    pstt = request.app.state.pstt
    p = request.path_params
    result = await run_in_threadpool(_run_section_test, pstt, p["section"], p["name"])
    return JSONResponse(redact(result))


routes = [
    Route("/api/connections", list_connections, methods=["GET"]),
    Route("/api/connections/databases/{name}/test", test_database, methods=["POST"]),
    Route("/api/connections/{section}/{name}/test", test_section, methods=["POST"]),
]
