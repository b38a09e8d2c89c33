"""``/scheduler`` (list + new schedule form) and ``/scheduler/{id}`` (edit + recent runs).

The form's sharing-mode dropdown and each mode's fields come from the installed sink
types' option schemas (:func:`pstt_core.web.forms.sink_schema`); the browser script submits the form to
the JSON API, so the API's validation errors are shown next to the form.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ConfigError
from ..timefmt import all_zone_names, server_zone_name
from .data import redact, schedule_view, schedules_view
from .forms import facade_choices, sink_schema
from .templating import render

if TYPE_CHECKING:
    from ..facade import Pstt


def form_context(pstt: Pstt) -> dict[str, Any]:
    """What the schedule form needs: sink types with their fields, databases and time zones.
    The mode preselected for a new schedule is the one most schedules use (else the first
    available); the zone is the server's."""
    choices = facade_choices(pstt)
    sinks = [sink_schema(sink, choices) for _, sink in sorted(pstt.registry.sinks.items())]
    available = [s["name"] for s in sinks if s["available"]]
    used = Counter(s.sharing_mode for s in pstt.schedules.all().values()
                   if s.sharing_mode in available)
    default = used.most_common(1)[0][0] if used else (available[0] if available else "")
    return {"sinks": sinks, "databases": sorted(pstt.config.databases), "default_mode": default,
            "zones": all_zone_names(), "default_zone": server_zone_name()}


def _list_data(pstt: Pstt) -> dict[str, Any]:
    return {**schedules_view(pstt), **form_context(pstt)}


async def scheduler_page(request: Request) -> Response:
    data = await run_in_threadpool(_list_data, request.app.state.pstt)
    return render(request, "scheduler.html", data)


def _detail_data(pstt: Pstt, schedule_id: str) -> dict[str, Any]:
    runs = redact(pstt.history.query(schedule_id=schedule_id, limit=20)[1])
    try:
        schedule = schedule_view(pstt, schedule_id)
    except ConfigError as exc:
        # a hand-edited entry that does not validate: show it as stored, with every problem,
        # in the same form, so it can be fixed here
        raw = pstt.schedules.raw(schedule_id)
        if raw is None:
            raise
        problems = [{"path": (p or "").replace(exc_prefix(p), "$", 1), "error": m}
                    for p, m in exc.problems]
        return {"schedule": redact({**raw, "id": schedule_id}), "runs": runs,
                "invalid": problems, "raw_json": json.dumps(redact(raw), indent=2),
                **form_context(pstt)}
    watermark = pstt.watermark(schedule_id) if schedule.get("incremental") else None
    return {"schedule": schedule, "runs": runs, "invalid": None, "watermark": watermark,
            **form_context(pstt)}


def exc_prefix(path: str | None) -> str:
    """``$.schedules[3]`` of a stored schedule's error path: the form names fields from ``$``."""
    match = re.match(r"^\$\.schedules\[\d+\]", path or "")
    return match.group(0) if match else "$"


async def schedule_page(request: Request) -> Response:
    data = await run_in_threadpool(_detail_data, request.app.state.pstt, request.path_params["id"])
    return render(request, "schedule.html", data)


routes = [
    Route("/scheduler", scheduler_page, methods=["GET"]),
    Route("/scheduler/{id}", schedule_page, methods=["GET"]),
]
