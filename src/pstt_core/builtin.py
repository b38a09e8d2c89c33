"""The core's own plugin: formats, PSTT_* settings and the web metrics observer — through the
same hooks as anyone. The core's health checks look at the facade itself (configuration,
state files and run records, scheduler, database connections), so the facade builds them (:func:`core_health_checks`)
rather than a hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .formats import OutputFormat
from .formats.csv_format import CSV
from .formats.jsonl import JSONL
from .formats.parquet import PARQUET
from .formats.xlsx import XLSX
from .health import HealthCheck, HealthResult
from .hookspecs import hookimpl
from .settings import CORE_SETTINGS, Setting

if TYPE_CHECKING:
    from .facade import Pstt
    from .models import RunRecord

CORE_FORMATS = (CSV, JSONL, XLSX, PARQUET)
CORE_HEALTH_CHECKS = ("configuration", "records", "scheduler", "databases")


@hookimpl
def register_formats(register: Callable[[OutputFormat], None]) -> None:
    for fmt in CORE_FORMATS:
        register(fmt)


@hookimpl
def register_settings(register: Callable[[Setting], None]) -> None:
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


def _configuration_health(pstt: Pstt) -> HealthResult:
    error = pstt.config_error
    if error is not None:
        return HealthResult("degraded", "connections.json was changed but cannot be used; the "
                            f"configuration read before stays in force: {error}",
                            {"error": error.message, "path": error.path})
    sections = {name: len(entries) for name, entries in pstt.config.sections.items() if entries}
    return HealthResult("healthy", f"connections.json: {len(pstt.config.databases)} database(s)"
                        + "".join(f", {n} in {name}" for name, n in sections.items()),
                        {"databases": len(pstt.config.databases), "sections": sections})


def _records_health(pstt: Pstt) -> HealthResult:
    """Damaged state files and run records the history could not take (kept in the journal);
    ``data.state`` says which backend keeps them, where, and this instance's id."""
    unusable = pstt.backend.problem()
    state = pstt.state_summary(contact=not unusable)
    if unusable:
        return HealthResult("unhealthy", unusable, {"state": state})
    problems = [str(exc).replace(str(pstt.home.root) + "/", "") for exc in pstt.state_problems()]
    kept = pstt.journal.kept()
    data = {"state": state, "state_file_errors": problems,
            "records_not_written": [{k: r.get(k) for k in ("export_id", "schedule_id", "status",
                                                           "kept_at", "reason")} for r in kept]}
    if kept:
        return HealthResult("unhealthy", f"{len(kept)} run record(s) could not be written to the "
                            f"history and are kept in {pstt.home.journal}: "
                            f"{kept[0]['reason']}", data)
    if problems:
        return HealthResult("unhealthy", "; ".join(problems), data)
    return HealthResult("healthy", "every run is recorded", data)


def core_health_checks(pstt: Pstt) -> list[HealthCheck]:
    """The checks named in :data:`CORE_HEALTH_CHECKS`, bound to ``pstt``."""
    return [
        HealthCheck("configuration", lambda _env: _configuration_health(pstt),
                    "connections.json is valid (a broken edit keeps the previous one)"),
        HealthCheck("records", lambda _env: _records_health(pstt),
                    "State files readable; every finished run is in the history"),
        HealthCheck("scheduler", lambda _env: _scheduler_health(pstt),
                    "Scheduler state and schedule validity"),
        HealthCheck("databases", lambda _env: _databases_health(pstt),
                    "Each database answers SELECT 1"),
    ]


@hookimpl
def run_finished(record: RunRecord, pstt: Pstt) -> None:
    """Feed the web app's Prometheus metrics (if an app was built for this facade)."""
    if pstt.run_metrics is not None:  # set by pstt_core.web.metrics
        pstt.run_metrics.observe(record)
