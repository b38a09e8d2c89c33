"""Scheduler state, health, plugins, settings and log tail."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...logs import tail
from ..data import plugins_view, redact, scheduler_view
from .params import choice_param, int_param, text_param

LEVELS = ("debug", "info", "warning", "error", "critical")


async def scheduler(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(scheduler_view, request.app.state.pstt))


async def health(request: Request) -> Response:
    """Scheduler state plus every registered health check (the status is in the body);
    the status alone for a caller without credentials when a token is configured (a
    liveness probe learns nothing about hosts, ports, databases or brokers)."""
    pstt = request.app.state.pstt
    result = await request.app.state.health.get()
    if not request.scope.get("state", {}).get("authenticated", True):
        return JSONResponse({"status": result["status"]})
    return JSONResponse({"status": result["status"],
                         "scheduler": {"running": pstt.scheduler.running, "started": pstt.started},
                         "checks": result["checks"]})


async def plugins(request: Request) -> Response:
    state = request.app.state
    return JSONResponse(await run_in_threadpool(plugins_view, state.pstt))


async def settings(request: Request) -> Response:
    return JSONResponse(redact({"settings": request.app.state.pstt.settings.masked()}))


async def logs(request: Request) -> Response:
    tail_n = int_param(request, "tail", 200, minimum=1, maximum=5000)
    level = choice_param(request, "level", LEVELS)
    search = text_param(request, "search")
    pstt = request.app.state.pstt
    entries = await run_in_threadpool(
        lambda: tail(pstt.home.logs, lines=tail_n, level=level, search=search)
        if pstt.home.logs.is_dir() else [])
    return JSONResponse(redact({"entries": entries, "count": len(entries)}))


routes = [
    Route("/api/scheduler", scheduler, methods=["GET"]),
    Route("/api/health", health, methods=["GET"]),
    Route("/api/plugins", plugins, methods=["GET"]),
    Route("/api/settings", settings, methods=["GET"]),
    Route("/api/logs", logs, methods=["GET"]),
]
