"""Runs: run now (wait or background), one run's record, and the filtered history."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import ConfigError, NotFoundError
from ...models import FINISHED_STATUSES
from ..data import history_view, redact
from ..responses import json_body
from .params import bool_param, choice_param, int_param, text_param, time_param

if TYPE_CHECKING:
    from ...facade import Pstt
    from ...incremental import Window
    from ...models import RunInfo


async def _window(request: Request, pstt: Pstt, sid: str) -> Window | None:
    """A backfill's window from an optional body ``{"from"?, "to"?}`` (no body: the next
    run of the schedule)."""
    if not await request.body():
        return None
    body = await json_body(request)
    unknown = sorted(set(body) - {"from", "to"})
    if unknown:
        raise ConfigError(f"unknown field(s) {', '.join(unknown)}; known: from, to",
                          path=f"$.{unknown[0]}")
    if body.get("from") is None and body.get("to") is None:
        return None
    window: Window = await run_in_threadpool(pstt.backfill_window, sid, body.get("from"),
                                             body.get("to"))
    return window


async def run_schedule(request: Request) -> Response:
    """Waits for the record, or with ``?background=true`` answers 202 at once. A body
    ``{"from", "to"}`` makes it a backfill of an incremental schedule."""
    pstt = request.app.state.pstt
    sid = request.path_params["id"]
    window = await _window(request, pstt, sid)
    if bool_param(request, "background"):
        run = await run_in_threadpool(_start_in_background, pstt, sid, window)
        return JSONResponse({"export_id": run.export_id, "schedule_id": sid, "status": "running",
                             "started_at": run.export_timestamp.isoformat(),
                             "url": f"/api/runs/{run.export_id}"}, status_code=202)
    record = await run_in_threadpool(partial(pstt.run, sid, window=window))
    return JSONResponse(redact(record.to_dict()))


def _visible(pstt: Pstt, export_id: str) -> bool:
    running = any(r.export_id == export_id for r in list(pstt.runner.running.values()))
    return running or pstt.history.get(export_id) is not None


def _start_in_background(pstt: Pstt, sid: str, window: Window | None) -> RunInfo:
    """Start the run and wait (briefly) until its thread has registered it, so that an
    immediate ``GET /api/runs/{export_id}`` or a second run request sees it."""
    run = pstt.run_in_background(sid, window=window)
    deadline = time.monotonic() + 2.0
    while not _visible(pstt, run.export_id) and time.monotonic() < deadline:
        time.sleep(0.005)
    return run


def _find_run(pstt: Pstt, export_id: str) -> dict[str, Any]:
    for sid, run in list(pstt.runner.running.items()):
        if run.export_id == export_id:
            return {"export_id": export_id, "schedule_id": sid, "status": "running",
                    "sharing_mode": run.schedule.sharing_mode,
                    "started_at": run.export_timestamp.isoformat()}
    record = pstt.history.get(export_id)
    if record is not None:
        return dict(record)
    unrecorded = pstt.journal.not_recorded(export_id)
    if unrecorded is not None:  # it ended, but the history could not take its record: 503
        raise unrecorded
    for running in pstt.journal.running():  # a run of another process on this home
        if running.get("export_id") == export_id:
            return dict(running)
    raise NotFoundError(f"no run with export_id {export_id!r}")


async def get_run(request: Request) -> Response:
    pstt = request.app.state.pstt
    record = await run_in_threadpool(_find_run, pstt, request.path_params["export_id"])
    return JSONResponse(redact(record))


async def history(request: Request) -> Response:
    filters = {
        "schedule_id": text_param(request, "schedule_id"),
        "status": choice_param(request, "status", FINISHED_STATUSES),
        "sharing_mode": text_param(request, "sharing_mode"),
        "since": time_param(request, "since"),
        "until": time_param(request, "until"),
    }
    limit = int_param(request, "limit", 100, minimum=1, maximum=1000)
    offset = int_param(request, "offset", 0, minimum=0)
    pstt = request.app.state.pstt
    return JSONResponse(await run_in_threadpool(
        lambda: history_view(pstt, **filters, limit=limit, offset=offset)))


routes = [
    Route("/api/schedules/{id}/run", run_schedule, methods=["POST"]),
    Route("/api/runs/{export_id}", get_run, methods=["GET"]),
    Route("/api/history", history, methods=["GET"]),
]
