"""Server-rendered pages: status, history, settings, logs (the scheduler pages live in
:mod:`pstt_core.web.scheduler_pages`). Data comes from :mod:`pstt_core.web.data`, the same
read models the JSON API returns."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from ..errors import ConfigError, NotFoundError
from ..logs import tail
from ..models import FINISHED_STATUSES
from .api.params import choice_param, int_param, text_param, time_param
from .api.system import LEVELS
from .data import connections_view, plugins_view, redact, scheduler_view, schedules_view
from .nav import NavLink
from .templating import render

if TYPE_CHECKING:
    from ..facade import Pstt

CORE_NAV = [NavLink("Status", "/", 10), NavLink("Scheduler", "/scheduler", 20),
            NavLink("History", "/history", 30), NavLink("Settings", "/settings", 80),
            NavLink("Logs", "/logs", 90), NavLink("API", "/docs", 95)]


def _status_data(pstt: Pstt) -> dict[str, Any]:
    return {"scheduler": scheduler_view(pstt), "schedules": schedules_view(pstt),
            "recent": redact(pstt.history.query(limit=10)[1])}


async def status_page(request: Request) -> Response:
    pstt = request.app.state.pstt
    context = await run_in_threadpool(_status_data, pstt)
    context["health"] = await request.app.state.health.get()
    return render(request, "index.html", context)


def _local_time(request: Request, name: str, zone: tzinfo) -> datetime | None:
    """A time filter; the form's ``datetime-local`` value has no offset: it is a wall-clock
    time in the display zone, like every time on the page."""
    value = time_param(request, name)
    raw = request.query_params.get(name, "")
    if value is None or re.search(r"(Z|z|[+-]\d\d:?\d\d| \d\d:?\d\d)$", raw):
        return value
    return value.replace(tzinfo=zone)


async def history_page(request: Request) -> Response:
    pstt = request.app.state.pstt
    try:
        filters: dict[str, Any] = {
            "schedule_id": text_param(request, "schedule_id"),
            "status": choice_param(request, "status", FINISHED_STATUSES),
            "sharing_mode": text_param(request, "sharing_mode"),
            "since": _local_time(request, "since", pstt.display_zone),
            "until": _local_time(request, "until", pstt.display_zone)}
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


def _row(entry: dict[str, Any], test_url: str) -> dict[str, Any]:
    """A connection for the settings page: its label, and every other field that is set."""
    details = {k: v for k, v in entry.items()
               if k not in ("name", "display_name") and v not in (None, "", [], {})}
    return {"name": entry["name"], "label": entry.get("display_name") or entry["name"],
            "details": details, "test_url": test_url}


def _settings_data(pstt: Pstt, root: str) -> dict[str, Any]:
    connections = connections_view(pstt)
    return {"settings": redact(pstt.settings.masked()),
            "plugins": plugins_view(pstt), "connections": connections,
            "database_rows": [_row(db, f"{root}/api/connections/databases/{db['name']}/test")
                              for db in connections["databases"]],
            "section_rows": {s["name"]: [_row(e, f"{root}/api/connections/{s['name']}/"
                                                 f"{e['name']}/test") for e in s["entries"]]
                             for s in connections["sections"]}}


async def settings_page(request: Request) -> Response:
    state = request.app.state
    data = await run_in_threadpool(_settings_data, state.pstt,
                                   request.scope.get("root_path", ""))
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


def _run_file(pstt: Pstt, export_id: str) -> Path:
    """The file a recorded run wrote: only a history record can name it, and only its own
    sink type says where it is (``SinkType.output_file``)."""
    record = pstt.history.get(export_id)
    if record is None:
        raise NotFoundError(f"no run with export_id {export_id!r}")
    sink = pstt.registry.sinks.get(str(record.get("sharing_mode") or ""))
    path = (sink.output_file(record, pstt.owner_env("sink type", sink.name))
            if sink is not None and sink.output_file else None)
    if path is None:
        raise NotFoundError("this run has no file to download (it wrote none, or the file was "
                            "removed since, e.g. by retention)")
    return path


async def run_file(request: Request) -> Response:
    path = await run_in_threadpool(_run_file, request.app.state.pstt,
                                   request.path_params["export_id"])
    return FileResponse(path, filename=path.name)


async def docs_page(request: Request) -> Response:
    """The API reference rendered from ``/api/openapi.json`` (Swagger UI, vendored)."""
    return render(request, "docs.html")


routes = [
    Route("/", status_page, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
    Route("/runs/{export_id}/file", run_file, methods=["GET"]),
    Route("/history", history_page, methods=["GET"]),
    Route("/settings", settings_page, methods=["GET"]),
    Route("/logs", logs_page, methods=["GET"]),
]
