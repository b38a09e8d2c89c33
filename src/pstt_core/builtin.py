"""The core's own plugin: formats, PSTT_* settings, core health checks — same hooks as anyone."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .formats.csv_format import CSV
from .formats.jsonl import JSONL
from .formats.parquet import PARQUET
from .formats.xlsx import XLSX
from .health import HealthCheck, HealthResult
from .hookspecs import hookimpl
from .settings import CORE_SETTINGS

if TYPE_CHECKING:
    from .facade import Pstt


@hookimpl
def register_formats(register: Callable[[Any], None]) -> None:
    for fmt in (CSV, JSONL, XLSX, PARQUET):
        register(fmt)


@hookimpl
def register_settings(register: Callable[[Any], None]) -> None:
    for setting in CORE_SETTINGS:
        register(setting)


def _scheduler_health(pstt: Pstt) -> HealthResult:
    valid, invalid = pstt.schedules.load()
    data = {"running": pstt.scheduler.running, "schedules": len(valid), "invalid": sorted(invalid),
            "jobs": len(pstt.scheduler.jobs())}
    if invalid:
        return HealthResult("degraded", f"{len(invalid)} invalid schedule(s): {', '.join(sorted(invalid))}", data)
    if not pstt.settings["PSTT_SCHEDULER_ENABLED"]:
        return HealthResult("healthy", "scheduler disabled (PSTT_SCHEDULER_ENABLED=false)", data)
    if not pstt.scheduler.running and pstt.started:
        return HealthResult("unhealthy", "scheduler is not running", data)
    return HealthResult("healthy", "scheduler running" if pstt.scheduler.running else "scheduler idle", data)


def _databases_health(pstt: Pstt) -> HealthResult:
    if not pstt.config.databases:
        return HealthResult("not_configured", "no databases in connections.json")
    results = [pstt.databases.test(name) for name in pstt.config.databases]
    bad = [r for r in results if not r["success"]]
    status = "healthy" if not bad else ("unhealthy" if len(bad) == len(results) else "degraded")
    detail = "; ".join(f"{r['name']}: {r['error']}" for r in bad) or f"{len(results)} reachable"
    return HealthResult(status, detail, {"connections": results})


def _records_health(pstt: Pstt) -> HealthResult:
    """Damaged state files and run records the history could not take (kept in the journal)."""
    problems = [str(exc).replace(str(pstt.home.root) + "/", "") for exc in pstt.state_problems()]
    kept = pstt.journal.kept()
    data = {"state_file_errors": problems,
            "records_not_written": [{k: r.get(k) for k in ("export_id", "schedule_id", "status",
                                                           "kept_at", "reason")} for r in kept]}
    if kept:
        return HealthResult("unhealthy", f"{len(kept)} run record(s) could not be written to the "
                            f"history and are kept in {pstt.home.journal}: "
                            f"{kept[0]['reason']}", data)
    if problems:
        return HealthResult("unhealthy", "; ".join(problems), data)
    return HealthResult("healthy", "every run is recorded", data)


@hookimpl
def register_health_checks(register: Callable[[Any], None]) -> None:
    register(HealthCheck("records", _records_health,
                         "State files readable; every finished run is in the history"))
    register(HealthCheck("scheduler", _scheduler_health, "Scheduler state and schedule validity"))
    register(HealthCheck("databases", _databases_health, "Each database answers SELECT 1"))


@hookimpl
def run_finished(record: Any, schedule: Any, pstt: Pstt) -> None:
    """Feed the web app's Prometheus metrics (if an app was built for this facade)."""
    metrics = pstt.state.get("pstt_core.metrics")  # set by pstt_core.web.metrics
    if metrics is not None:
        metrics.observe(record)
