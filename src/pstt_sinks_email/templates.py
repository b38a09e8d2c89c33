"""Subject, body and attachment-name templates: ``str.format`` over a closed set of names.

Only plain placeholder names are allowed (``{rows}``, ``{run_time:%Y-%m-%d}``): attribute and
index lookups (``{run_time.__class__}``) are refused, so a template cannot reach into objects.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pstt_core import ConfigError, TemplateError, render_template

PLACEHOLDERS: dict[str, str] = {
    "schedule_id": "schedule id",
    "schedule_name": "schedule name",
    "description": "schedule description",
    "run_time": "run start in the schedule's time zone (takes strftime formats: {run_time:%d/%m/%Y %H:%M})",
    "date": "run date, YYYY-MM-DD",
    "time": "run time, HH:MM:SS",
    "timezone": "the schedule's time zone",
    "rows": "number of rows (takes number formats: {rows:,})",
    "export_id": "the run's UUID",
    "connection": "database connection name",
    "sharing_mode": "sharing mode of the schedule",
    "attachment_name": "file name of the attachment",
    "status": "run status (failure notices)",
    "error": "error text (failure notices)",
}


def render(template: str, values: Mapping[str, Any], *, field: str) -> str:
    """Render ``template``; an unknown placeholder or a bad format is a ConfigError at ``field``."""
    try:
        return render_template(template, values)
    except TemplateError as exc:
        if exc.placeholder is not None:
            raise ConfigError(f"unknown placeholder {{{exc.placeholder}}}; available: "
                              + ", ".join(f"{{{p}}}" for p in values), path=field) from None
        raise ConfigError(f"bad template {template[:200]!r}: {exc} (write {{{{ and }}}} for "
                          "literal braces)", path=field) from None


def run_values(run: Any, *, rows: int, attachment_name: str = "", status: str = "success",
               error: str = "") -> dict[str, Any]:
    """Values for one run; times in the schedule's zone."""
    schedule = run.schedule
    local = run.export_timestamp.astimezone(zoneinfo.ZoneInfo(schedule.timezone))
    return _values(local, schedule_id=schedule.id, schedule_name=schedule.name,
                   description=schedule.description, rows=rows, export_id=run.export_id,
                   connection=schedule.connection, sharing_mode=schedule.sharing_mode,
                   attachment_name=attachment_name, status=status, error=error)


def _values(local: datetime, **fields: Any) -> dict[str, Any]:
    return {"run_time": local, "date": local.strftime("%Y-%m-%d"),
            "time": local.strftime("%H:%M:%S"), "timezone": str(local.tzinfo), **fields}


def sample_values() -> dict[str, Any]:
    """Stand-in values to check a template when a schedule is saved."""
    return _values(datetime.now(timezone.utc), schedule_id="sample", schedule_name="Sample",
                   description="", rows=1234, export_id="00000000-0000-0000-0000-000000000000",
                   connection="db", sharing_mode="email", attachment_name="sample.csv",
                   status="failed", error="sample error")
