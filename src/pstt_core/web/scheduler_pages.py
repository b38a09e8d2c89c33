"""``/scheduler`` (list + new schedule form) and ``/scheduler/{id}`` (edit + recent runs).

The form's sharing-mode dropdown and each mode's fields come from the installed sink
types' option schemas (:func:`pstt_core.web.forms.sink_schema`); the browser script submits the form to
the JSON API, so the API's validation errors are shown next to the form.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .data import redact, schedule_view, schedules_view
from .forms import facade_choices, sink_schema
from .templating import render

if TYPE_CHECKING:
    from ..facade import Pstt


def form_context(pstt: Pstt) -> dict[str, Any]:
    """What the schedule form needs: sink types with their fields and databases. The mode
    preselected for a new schedule is the one most schedules use (else the first available)."""
    choices = facade_choices(pstt)
    sinks = [sink_schema(sink, choices) for _, sink in sorted(pstt.registry.sinks.items())]
    available = [s["name"] for s in sinks if s["available"]]
    used = Counter(s.sharing_mode for s in pstt.schedules.all().values()
                   if s.sharing_mode in available)
    default = used.most_common(1)[0][0] if used else (available[0] if available else "")
    return {"sinks": sinks, "databases": sorted(pstt.config.databases), "default_mode": default}


def _list_data(pstt: Pstt) -> dict[str, Any]:
    return {**schedules_view(pstt), **form_context(pstt)}


async def scheduler_page(request: Request) -> Response:
    data = await run_in_threadpool(_list_data, request.app.state.pstt)
    return render(request, "scheduler.html", data)


def _detail_data(pstt: Pstt, schedule_id: str) -> dict[str, Any]:
    schedule = schedule_view(pstt, schedule_id)
    runs = redact(pstt.history.query(schedule_id=schedule_id, limit=20)[1])
    return {"schedule": schedule, "runs": runs, **form_context(pstt)}


async def schedule_page(request: Request) -> Response:
    data = await run_in_threadpool(_detail_data, request.app.state.pstt, request.path_params["id"])
    return render(request, "schedule.html", data)


routes = [
    Route("/scheduler", scheduler_page, methods=["GET"]),
    Route("/scheduler/{id}", schedule_page, methods=["GET"]),
]
