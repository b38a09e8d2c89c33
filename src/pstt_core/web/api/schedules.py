"""``/api/schedules``: CRUD, enable/disable. Validation goes through the sink plugin."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..data import schedule_view, schedules_view
from ..responses import json_body


def _pstt(request: Request) -> Any:
    return request.app.state.pstt


async def list_schedules(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(schedules_view, _pstt(request)))


async def create_schedule(request: Request) -> Response:
    body = await json_body(request)
    pstt = _pstt(request)
    sched = await run_in_threadpool(pstt.create_schedule, body)
    location = f"{request.scope.get('root_path', '')}/api/schedules/{quote(sched.id, safe='')}"
    return JSONResponse(await run_in_threadpool(schedule_view, pstt, sched.id), status_code=201,
                        headers={"Location": location})


async def get_schedule(request: Request) -> Response:
    sid = request.path_params["id"]
    return JSONResponse(await run_in_threadpool(schedule_view, _pstt(request), sid))


async def _change(request: Request, patch: bool) -> Response:
    sid = request.path_params["id"]
    body = await json_body(request)
    pstt = _pstt(request)
    await run_in_threadpool(pstt.patch_schedule if patch else pstt.update_schedule, sid, body)
    return JSONResponse(await run_in_threadpool(schedule_view, pstt, sid))


async def replace_schedule(request: Request) -> Response:
    """PUT: the body is the whole new definition."""
    return await _change(request, patch=False)


async def patch_schedule(request: Request) -> Response:
    """PATCH: the body's top-level fields replace the stored ones."""
    return await _change(request, patch=True)


async def delete_schedule(request: Request) -> Response:
    await run_in_threadpool(_pstt(request).delete_schedule, request.path_params["id"])
    return Response(status_code=204)


async def _set_enabled(request: Request, enabled: bool) -> Response:
    sid = request.path_params["id"]
    pstt = _pstt(request)
    await run_in_threadpool(partial(pstt.patch_schedule, sid, {"enabled": enabled}))
    return JSONResponse(await run_in_threadpool(schedule_view, pstt, sid))


async def enable_schedule(request: Request) -> Response:
    return await _set_enabled(request, True)


async def disable_schedule(request: Request) -> Response:
    return await _set_enabled(request, False)


async def get_watermark(request: Request) -> Response:
    """The watermark of an incremental schedule (``watermark`` is null when it has none)."""
    return JSONResponse(await run_in_threadpool(_pstt(request).watermark,
                                                request.path_params["id"]))


async def set_watermark(request: Request) -> Response:
    """PUT ``{"value", "type"?, "tiebreaker_value"?, "tiebreaker_type"?}``: the next run
    delivers the rows after it."""
    body = await json_body(request)
    return JSONResponse(await run_in_threadpool(_pstt(request).set_watermark,
                                                request.path_params["id"], body))


async def reset_watermark(request: Request) -> Response:
    """DELETE: forget the watermark; the next run starts from ``start``."""
    return JSONResponse(await run_in_threadpool(_pstt(request).reset_watermark,
                                                request.path_params["id"]))


def _preview(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a trigger and time zone the way a saved schedule's are, then list its fires."""
    import zoneinfo

    from ...converter import structure
    from ...errors import ConfigError
    from ...models import Trigger
    from ...scheduler import preview

    tz = body.get("timezone") or "UTC"
    if not isinstance(tz, str):
        raise ConfigError("must be an IANA time zone name", path="timezone")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {tz!r} (use an IANA name like Europe/Rome)",
                          path="timezone") from None
    count = body.get("count", 5)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100:
        raise ConfigError("must be a whole number from 1 to 100", path="count")
    trigger = structure(body.get("trigger"), Trigger, path="trigger")
    if trigger.type == "interval" and trigger.interval_seconds() <= 0:
        raise ConfigError("an interval trigger needs seconds, minutes, hours or days > 0",
                          path="trigger")
    try:
        times = preview(trigger, tz, count=count)
    except ValueError as exc:
        raise ConfigError(str(exc), path="trigger.expression") from None
    return {"timezone": tz, "next_runs": [t.isoformat() for t in times]}


async def preview_trigger(request: Request) -> Response:
    """POST ``{"trigger": {...}, "timezone"?, "count"?}`` → its next fire times."""
    body = await json_body(request)
    return JSONResponse(await run_in_threadpool(_preview, body))


routes = [
    Route("/api/triggers/preview", preview_trigger, methods=["POST"]),
    Route("/api/schedules", list_schedules, methods=["GET"]),
    Route("/api/schedules", create_schedule, methods=["POST"]),
    Route("/api/schedules/{id}", get_schedule, methods=["GET"]),
    Route("/api/schedules/{id}", replace_schedule, methods=["PUT"]),
    Route("/api/schedules/{id}", patch_schedule, methods=["PATCH"]),
    Route("/api/schedules/{id}", delete_schedule, methods=["DELETE"]),
    Route("/api/schedules/{id}/enable", enable_schedule, methods=["POST"]),
    Route("/api/schedules/{id}/watermark", get_watermark, methods=["GET"]),
    Route("/api/schedules/{id}/watermark", set_watermark, methods=["PUT"]),
    Route("/api/schedules/{id}/watermark", reset_watermark, methods=["DELETE"]),
    Route("/api/schedules/{id}/disable", disable_schedule, methods=["POST"]),
]
