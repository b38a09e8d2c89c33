"""Read models shared by the JSON API and the pages (one place computes what both show).

Every synchronous function here may touch files or databases: call them through
``run_in_threadpool`` from async handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import mask
from ..converter import unstructure
from ..databases import safe_url
from ..logs import redactor
from ..models import Schedule
from ..scheduler import next_runs
from ..staleness import stale_schedules
from .forms import facade_choices, sink_schema

if TYPE_CHECKING:
    from ..facade import Pstt


def redact(value: Any) -> Any:
    """Mask known secret values anywhere in a JSON-like structure (defence in depth)."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def schedule_dict(pstt: Pstt, sched: Schedule, last: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schedule as stored, plus bookkeeping: next run, last run, running now."""
    data = unstructure(sched)
    nxt = pstt.scheduler.next_run_time(sched.id)
    data["next_run"] = nxt.isoformat() if nxt else None
    data["last_run"] = last
    data["running"] = pstt.runner.is_running(sched.id)
    return redact(data)


def schedules_view(pstt: Pstt) -> dict[str, Any]:
    valid, invalid = pstt.schedules.load()
    last = pstt.history.last(valid)
    return {
        "schedules": [schedule_dict(pstt, s, last.get(sid)) for sid, s in valid.items()],
        "invalid": [{"id": key, "error": exc.message, "path": exc.path}
                    for key, exc in invalid.items()],
        "stale": [{"id": sid, **info} for sid, info in sorted(stale_schedules(pstt).items())],
    }


def schedule_view(pstt: Pstt, schedule_id: str) -> dict[str, Any]:
    sched = pstt.schedules.get(schedule_id)
    view = schedule_dict(pstt, sched, pstt.history.last([schedule_id]).get(schedule_id))
    view["next_runs"] = [t.isoformat() for t in next_runs(sched)]
    return view


def scheduler_view(pstt: Pstt) -> dict[str, Any]:
    running = [{"schedule_id": sid, "export_id": run.export_id,
                "started_at": run.export_timestamp.isoformat(), "trigger": run.trigger}
               for sid, run in list(pstt.runner.running.items())]
    return {"running": pstt.scheduler.running, "started": pstt.started,
            "jobs": sorted(pstt.scheduler.jobs(), key=lambda j: j["next_run_time"] or "~"),
            "runs_in_progress": running, "metrics": pstt.scheduler_metrics.data()}


def history_view(pstt: Pstt, *, limit: int = 100, offset: int = 0,
                 **filters: Any) -> dict[str, Any]:
    """``GET /api/history``: matching records newest first, with the total before paging."""
    total, runs = pstt.history.query(**filters, limit=limit, offset=offset)
    return redact({"total": total, "limit": limit, "offset": offset, "runs": runs})


def plugins_view(pstt: Pstt) -> dict[str, Any]:
    choices = facade_choices(pstt)
    sinks = []
    for name, sink in sorted(pstt.registry.sinks.items()):
        sinks.append({**sink_schema(sink, choices),
                      "plugin": pstt.registry.plugin_of("sink type", name)})
    formats = [{"name": f.name, "available": f.available, "unavailable_reason": f.unavailable_reason}
               for f in pstt.registry.formats.values()]
    return {"plugins": [p.to_dict() for p in pstt.plugins()], "sinks": sinks, "formats": formats,
            "problems": list(pstt.plugin_problems)}


def connections_view(pstt: Pstt) -> dict[str, Any]:
    """Databases (URL without password) and every plugin section with secrets masked."""
    databases = [{"name": db.name, "display_name": db.display_name or db.name,
                  "description": db.description or "", "url": safe_url(db, pstt.home.root)}
                 for db in pstt.config.databases.values()]
    sections = []
    for name, section in sorted(pstt.registry.sections.items()):
        entries = [mask(entry, section.secret_fields) for entry in pstt.config.section(name).values()]
        sections.append({"name": name, "label": section.label or name,
                         "description": section.description, "testable": section.test is not None,
                         "plugin": pstt.registry.plugin_of("config section", name),
                         "entries": entries})
    return redact({"databases": databases, "sections": sections})
