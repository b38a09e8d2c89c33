"""Server-rendered pages: status, history, settings, logs (the scheduler pages live in
:mod:`pstt_core.web.scheduler_pages`). Data comes from :mod:`pstt_core.web.data`, the same
read models the JSON API returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ConfigError
from ..logs import tail
from ..models import FINISHED_STATUSES
from . import data
from .api.params import choice_param, int_param, text_param, time_param
from .api.system import LEVELS
from .data import connections_view, plugins_view, redact, scheduler_view, schedules_view
from .nav import NavLink
from .templating import render

if TYPE_CHECKING:
    from ..facade import Pstt

CORE_NAV = [NavLink("Status", "/", 10), NavLink("Scheduler", "/scheduler", 20),
            NavLink("History", "/history", 30), NavLink("Settings", "/settings", 80),
            NavLink("Logs", "/logs", 90)]


def _status_data(pstt: Pstt) -> dict[str, Any]:
    return {"scheduler": scheduler_view(pstt), "schedules": schedules_view(pstt),
            "recent": redact(pstt.history.query(limit=10)[1])}


async def status_page(request: Request) -> Response:
    pstt = request.app.state.pstt
    context = await run_in_threadpool(_status_data, pstt)
    context["health"] = await data.health(pstt)
    return render(request, "index.html", context)


async def history_page(request: Request) -> Response:
    pstt = request.app.state.pstt
    try:
        filters: dict[str, Any] = {
            "schedule_id": text_param(request, "schedule_id"),
            "status": choice_param(request, "status", FINISHED_STATUSES),
            "sharing_mode": text_param(request, "sharing_mode"),
            "since": time_param(request, "since"), "until": time_param(request, "until")}
        offset = int_param(request, "offset", 0)
        problem = ""
    except ConfigError as exc:
        filters, offset, problem = {}, 0, exc.message
    limit = 50
    total, runs = await run_in_threadpool(
        lambda: pstt.history.query(**filters, limit=limit, offset=offset))
    shown = {k: request.query_params.get(k, "") if k in ("since", "until") else (v or "")
             for k, v in filters.items()}
    return render(request, "history.html", {
        "runs": redact(runs), "total": total, "offset": offset, "limit": limit,
        "filters": shown, "problem": problem,
        "statuses": FINISHED_STATUSES, "modes": sorted(pstt.registry.sinks),
        "schedule_ids": sorted(pstt.schedules.all())})


def _settings_data(pstt: Pstt) -> dict[str, Any]:
    return {"settings": redact(pstt.settings.masked()),
            "plugins": plugins_view(pstt), "connections": connections_view(pstt)}


async def settings_page(request: Request) -> Response:
    state = request.app.state
    data = await run_in_threadpool(_settings_data, state.pstt)
    return render(request, "settings.html", data)


async def logs_page(request: Request) -> Response:
    pstt = request.app.state.pstt
    try:
        level = choice_param(request, "level", LEVELS)
        search = text_param(request, "search")
        lines = int_param(request, "tail", 200, minimum=1, maximum=5000)
        problem = ""
    except ConfigError as exc:
        level, search, lines, problem = None, None, 200, exc.message
    entries = await run_in_threadpool(
        lambda: tail(pstt.home.logs, lines=lines, level=level, search=search)
        if pstt.home.logs.is_dir() else [])
    return render(request, "logs.html", {
        "entries": redact(entries), "level": level or "", "search": search or "",
        "tail": lines, "levels": LEVELS, "problem": problem})


routes = [
    Route("/", status_page, methods=["GET"]),
    Route("/history", history_page, methods=["GET"]),
    Route("/settings", settings_page, methods=["GET"]),
    Route("/logs", logs_page, methods=["GET"]),
]
