"""The hand-written OpenAPI description of the core endpoints (see docs/API.md)."""

from __future__ import annotations

import copy
from typing import Any

from ..models import SCHEDULE_ID_RE
from ..schedules import MAX_GRACE_SEC, MAX_INTERVAL_SEC, MAX_TIMEOUT_SEC

J = "application/json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {J: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Invalid input (the `path` names the field)", 401: "Missing or wrong token",
            403: "Missing CSRF token (browser requests)", 404: "Not found",
            409: "Conflict (exists / already running)", 413: "Body too large",
            415: "Body is not JSON",
            503: "A state file cannot be read, or the run's record could not be written "
                 "(the error says which file and where the record was kept)"}
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def _op(summary: str, ok: dict[str, Any], *errors: int, body: str | None = None,
        params: list[dict[str, Any]] | None = None, tag: str = "") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag] if tag else [],
                          "responses": {**ok, **_errors(401, *errors)}}
    if body:
        op["requestBody"] = {"required": True, "content": {J: {"schema": _ref(body)}}}
        op["responses"].update(_errors(400, 413, 415))
    if params:
        op["parameters"] = params
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}
TRIGGER = {"type": "object", "required": ["type"], "properties": {
    "type": {"type": "string", "enum": ["cron", "interval"]},
    "expression": {"type": "string", "description": "5-field crontab (cron triggers)"},
    "seconds": {"type": "integer", "minimum": 0, "maximum": MAX_INTERVAL_SEC},
    "minutes": {"type": "integer", "minimum": 0, "maximum": MAX_INTERVAL_SEC // 60},
    "hours": {"type": "integer", "minimum": 0, "maximum": MAX_INTERVAL_SEC // 3600},
    "days": {"type": "integer", "minimum": 0, "maximum": MAX_INTERVAL_SEC // 86400}},
    "description": "interval: the period (sum of the fields) is between 1 s and 366 days"}
SCHEDULE_PROPS: dict[str, Any] = {
    "id": {"type": "string", "pattern": SCHEDULE_ID_RE.pattern,
           "description": "default: derived from the name"},
    "name": {"type": "string"}, "description": {"type": "string"},
    "connection": {"type": "string", "description": "a database of connections.json"},
    "query": {"type": "string"}, "trigger": _ref("Trigger"),
    "timezone": {"type": "string", "default": "UTC"}, "enabled": {"type": "boolean"},
    "sharing_mode": {"type": "string", "description": "an installed sink type"},
    "sink_options": {**OBJ, "description": "options of the sharing mode (GET /api/plugins)"},
    "batch_size": {"type": "integer", "minimum": 1},
    "timeout_sec": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_SEC},
    "misfire_grace_sec": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_GRACE_SEC,
                          "description": "null: a late fire runs however late it is"},
    "coalesce": {"type": "boolean"},
    "catchup": {"type": "string", "enum": ["none", "latest"], "default": "none",
                "description": "fires missed while no instance was running: none records "
                               "them skipped; latest also runs the latest one at start-up"},
    "incremental": {"oneOf": [_ref("Incremental"), {"type": "null"}],
                    "description": "deliver only the rows after the watermark "
                                   "(docs/INCREMENTAL.md)"},

    "on_empty": {"type": "string", "enum": ["send", "skip", "fail"], "default": "send",
                 "description": "result gate: what an empty result does"},
    "min_rows": {"type": ["integer", "null"], "minimum": 0,
                 "description": "result gate: fewer rows fail the run before delivery"},
    "max_rows": {"type": ["integer", "null"], "minimum": 0,
                 "description": "result gate: more rows fail the run before delivery"},
    "max_staleness_sec": {"type": ["number", "null"],
                          "description": "alert when the last success is older (no default)"},
}
CURSOR_VALUE = {"type": ["string", "number"]}
# Of a change request, not of the schedule: needed to change a cursor that has a watermark.
RESET_PROP = {"reset_watermark": {"type": "boolean", "default": False,
                                  "description": "forget the watermark with this change"}}
MARK_PROPS: dict[str, Any] = {
    "value": {**CURSOR_VALUE, "description": "the cursor (integers and decimals as text)"},
    "type": {"type": "string", "enum": ["datetime", "date", "int", "decimal", "float", "text"]},
    "tiebreaker_value": CURSOR_VALUE,
    "tiebreaker_type": {"type": "string",
                        "enum": ["datetime", "date", "int", "decimal", "float", "text"]}}
MARK = {"type": ["object", "null"], "properties": {
    "column": {"type": "string"}, "tiebreaker": {"type": "string"}, **MARK_PROPS}}
RUN_PROPS: dict[str, Any] = {
    "export_id": {"type": "string"}, "schedule_id": {"type": "string"},
    "sharing_mode": {"type": "string"}, "status": {"type": "string"},
    "started_at": {"type": "string"}, "finished_at": {"type": ["string", "null"]},
    "duration_sec": {"type": ["number", "null"]}, "rows": {"type": "integer"},
    "error": {"type": ["string", "null"]},
    "scheduled_at": {"type": ["string", "null"],
                     "description": "The fire time (UTC) of a scheduled run; null for a manual one"},
    "instance": {"type": ["string", "null"],
                 "description": "The instance that ran it: <host>/<name>"},
    "trigger": {"type": "string", "enum": ["schedule", "manual", "backfill"]},
    "watermark_from": {**MARK, "description": "incremental: the watermark the run started "
                                              "from (a backfill: its from)"},
    "watermark_to": {**MARK, "description": "incremental: the cursor of the last row "
                                            "delivered; the new watermark when the run "
                                            "succeeded"}}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "path": {"type": ["string", "null"]}}},
    "Trigger": TRIGGER,
    "Incremental": {"type": "object", "required": ["column"], "properties": {
        "column": {"type": "string", "description": "the cursor column"},
        "tiebreaker": {"type": "string", "description": "a unique column: the cursor is "
                                                        "the pair (column, tiebreaker)"},
        "delay_sec": {"type": "number", "minimum": 0,
                      "description": "leave rows stamped within the last delay_sec of the "
                                     "database's clock for the next run"},
        "start": {**CURSOR_VALUE, "description": "the first run's lower bound (inclusive)"}}},
    "Watermark": {"type": "object", "required": ["schedule_id", "column", "watermark"],
                  "properties": {
                      "schedule_id": {"type": "string"}, "column": {"type": "string"},
                      "tiebreaker": {"type": ["string", "null"]}, "start": {},
                      "watermark": {"type": ["object", "null"], "properties": MARK_PROPS},
                      "updated_at": {"type": ["string", "null"]},
                      "export_id": {"type": ["string", "null"]},
                      "source": {"type": ["string", "null"], "enum": ["run", "set", None]},
                      "reset": {"type": "boolean", "description": "DELETE: there was one"}}},
    "WatermarkInput": {"type": "object", "required": ["value"], "properties": MARK_PROPS},
    "RunInput": {"type": "object", "properties": {
        "from": {**CURSOR_VALUE, "description": "backfill: rows at or after it"},
        "to": {**CURSOR_VALUE, "description": "backfill: rows before it"}}},
    "PreviewInput": {"type": "object", "required": ["connection", "query"], "properties": {
        "connection": {"type": "string", "description": "a database of connections.json"},
        "query": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}}},
    "Preview": {"type": "object", "properties": {
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "array"}},
        "truncated": {"type": "boolean", "description": "more rows than the limit"},
        "duration_ms": {"type": "number"}}},
    "ScheduleInput": {"type": "object", "additionalProperties": True,
                      "required": ["name", "connection", "query", "trigger", "sharing_mode"],
                      "properties": {**SCHEDULE_PROPS, **RESET_PROP}},
    "SchedulePatch": {"type": "object", "additionalProperties": True,
                      "properties": {**SCHEDULE_PROPS, **RESET_PROP}},
    "Schedule": {"type": "object", "required": ["id", "name", "sharing_mode", "sink_options"],
                 "properties": {**SCHEDULE_PROPS, "next_run": {"type": ["string", "null"]},
                                "next_runs": {"type": "array", "items": {"type": "string"},
                                              "description": "the next 5 fire times (ISO 8601 "
                                                             "with offset, the schedule's zone)"},
                                "last_run": {"type": ["object", "null"]},
                                "running": {"type": "boolean"},
                                "created_at": {"type": ["string", "null"]},
                                "updated_at": {"type": ["string", "null"]}}},
    "ScheduleList": {"type": "object", "required": ["schedules", "invalid"], "properties": {
        "schedules": {"type": "array", "items": _ref("Schedule")},
        "invalid": {"type": "array", "items": OBJ}}},
    "TriggerPreviewInput": {"type": "object", "required": ["trigger"], "properties": {
        "trigger": SCHEDULE_PROPS["trigger"], "timezone": {"type": "string", "default": "UTC"},
        "count": {"type": "integer", "minimum": 1, "maximum": 100, "default": 5}}},
    "TriggerPreview": {"type": "object", "required": ["timezone", "next_runs"], "properties": {
        "timezone": {"type": "string"},
        "next_runs": {"type": "array", "items": {"type": "string"}}}},
    "RunRecord": {"type": "object", "required": ["export_id", "schedule_id", "status"],
                  "properties": RUN_PROPS},
    "RunStarted": {"type": "object", "required": ["export_id", "status"], "properties": {
        "export_id": {"type": "string"}, "schedule_id": {"type": "string"},
        "status": {"const": "running"}, "started_at": {"type": "string"}, "url": {"type": "string"}}},
    "History": {"type": "object", "required": ["total", "limit", "offset", "runs"], "properties": {
        "total": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"},
        "runs": {"type": "array", "items": _ref("RunRecord")}}},
    "TestResult": {"type": "object", "required": ["success"], "properties": {
        "name": {"type": "string"}, "success": {"type": "boolean"},
        "latency_ms": {"type": ["number", "null"]}, "error": {"type": ["string", "null"]}}},
}


def _paths() -> dict[str, Any]:
    sid = [_path("id")]
    ok = lambda schema, text="OK": {"200": _json(schema, text)}  # noqa: E731
    history_params = [
        _query("schedule_id", {"type": "string"}), _query("sharing_mode", {"type": "string"}),
        _query("status", {"type": "string", "enum": ["success", "failed", "partial", "skipped", "interrupted"]}),
        _query("since", {"type": "string", "format": "date-time"}, "ISO 8601, inclusive"),
        _query("until", {"type": "string", "format": "date-time"}, "ISO 8601, inclusive"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0})]
    return {
        "/api/schedules": {
            "get": _op("List schedules (valid ones, and invalid ones with their error)",
                       ok(_ref("ScheduleList")), tag="schedules"),
            "post": _op("Create a schedule", {"201": {
                **_json(_ref("Schedule"), "Created"),
                "headers": {"Location": {"description": "URL of the new schedule",
                                         "schema": {"type": "string"}}}}}, 409,
                        body="ScheduleInput", tag="schedules")},
        "/api/schedules/{id}": {
            "get": _op("One schedule", ok(_ref("Schedule")), 400, 404, params=sid, tag="schedules"),
            "put": _op("Replace a schedule", ok(_ref("Schedule")), 404, body="ScheduleInput",
                       params=sid, tag="schedules"),
            "patch": _op("Change some fields of a schedule", ok(_ref("Schedule")), 404,
                         body="SchedulePatch", params=sid, tag="schedules"),
            "delete": _op("Delete a schedule", {"204": {"description": "Deleted"}}, 404,
                          params=sid, tag="schedules")},
        "/api/schedules/{id}/enable": {"post": _op("Enable a schedule", ok(_ref("Schedule")), 400,
                                                   404, params=sid, tag="schedules")},
        "/api/schedules/{id}/disable": {"post": _op("Disable a schedule", ok(_ref("Schedule")),
                                                    400, 404, params=sid, tag="schedules")},
        "/api/triggers/preview": {"post": _op(
            "The next fire times of a trigger (the schedule form shows them as you type)",
            ok(_ref("TriggerPreview")), body="TriggerPreviewInput", tag="schedules")},
        "/api/schedules/{id}/run": {"post": {**_op(
            "Run now: waits and returns the record, or 202 with ?background=true; a body "
            "{\"from\", \"to\"} backfills that window of an incremental schedule's cursor "
            "(trigger backfill; the watermark does not move)",
            {**ok(_ref("RunRecord"), "The finished run (its status may be failed)"),
             "202": _json(_ref("RunStarted"), "Started in the background")}, 400, 404, 409, 503,
            params=[*sid, _query("background", {"type": "boolean", "default": False})],
            tag="runs"), "requestBody": {"required": False,
                                         "content": {J: {"schema": _ref("RunInput")}}}}},
        "/api/schedules/{id}/watermark": {
            "get": _op("The watermark of an incremental schedule", ok(_ref("Watermark")), 400,
                       404, params=sid, tag="schedules"),
            "put": _op("Set the watermark (the next run delivers the rows after it)",
                       ok(_ref("Watermark")), 404, body="WatermarkInput", params=sid,
                       tag="schedules"),
            "delete": _op("Reset the watermark (the next run starts from start)",
                          ok(_ref("Watermark")), 400, 404, params=sid, tag="schedules")},
        "/api/runs/{export_id}": {"get": _op("A run by export_id (status running while it runs; "
                                             "503 when it ended but its record could not be "
                                             "written)", ok(_ref("RunRecord")), 404, 503,
                                             params=[_path("export_id")], tag="runs")},
        "/api/history": {"get": _op("Run history, newest first", ok(_ref("History")), 400,
                                    params=history_params, tag="runs")},
        "/api/scheduler": {"get": _op("Scheduler state, jobs with next run, counters",
                                      ok(OBJ), tag="system")},
        "/api/health": {"get": {**_op("Scheduler state and every health check (no token needed)",
                                      ok(OBJ), tag="system"), "security": []}},
        "/api/plugins": {"get": _op("Plugins, sink types with option schemas, problems",
                                    ok(OBJ), tag="system")},
        "/api/settings": {"get": _op("Effective settings (secrets masked)", ok(OBJ), tag="system")},
        "/api/connections": {"get": _op("Databases and plugin connection sections (masked)",
                                        ok(OBJ), tag="connections")},
        "/api/connections/databases/{name}/test": {"post": _op(
            "Test a database (SELECT 1)", ok(_ref("TestResult")), 404, params=[_path("name")],
            tag="connections")},
        "/api/connections/{section}/{name}/test": {"post": _op(
            "Test an entry of a plugin section", ok(_ref("TestResult")), 400, 404,
            params=[_path("section"), _path("name")], tag="connections")},
        "/api/preview": {"post": _op(
            "First rows of a query (read-only, short time limit) before it is saved",
            ok(_ref("Preview")), body="PreviewInput", tag="schedules")},
        "/api/logs": {"get": _op("Tail of today's log", ok(OBJ), 400, params=[
            _query("tail", {"type": "integer", "minimum": 1, "maximum": 5000, "default": 200}),
            _query("level", {"type": "string",
                             "enum": ["debug", "info", "warning", "error", "critical"]}),
            _query("search", {"type": "string", "maxLength": 200})], tag="system")},
        "/metrics": {"get": {"summary": "Prometheus metrics (text format)", "tags": ["system"],
                             "responses": {"200": {"description": "Prometheus text",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}},
                                           **_errors(401)}}},
    }


def core_document() -> dict[str, Any]:
    """A fresh copy (callers add plugin paths to it)."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "PSTT API", "version": "1",
                 "description": "Scheduled SQL exports. Errors are JSON {\"error\": ...}."},
        "paths": _paths(),
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "PSTT_API_TOKEN (only when one is configured)"}}},
        "security": [{"bearer": []}],
    })
