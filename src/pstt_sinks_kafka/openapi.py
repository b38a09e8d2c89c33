"""OpenAPI operations of ``/api/kafka/…``. The core's ``/api/openapi.json`` picks them up from
each endpoint's ``openapi`` attribute (``{"get": operation, …}``)."""

from __future__ import annotations

from typing import Any

J = "application/json"
ERROR = {"$ref": "#/components/schemas/Error"}
NUM = {"type": ["number", "null"]}
TEXT = {"type": ["string", "null"]}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
HOURS = [{"name": "hours", "in": "query", "required": False,
          "schema": {"type": "integer", "minimum": 1, "maximum": 720, "default": 24},
          "description": "window in hours, ending now"}]
_ERRORS = {400: "Invalid input; the message starts with the field name", 401: "Missing or wrong token",
           403: "Missing CSRF token (browser requests)", 404: "Unknown Kafka connection",
           413: "Body too large (PSTT_MAX_REQUEST_BYTES)", 415: "Body is not JSON",
           502: "The broker or the Kafka client failed",
           503: 'confluent-kafka is not installed: pip install "pstt[kafka]"'}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


def _resp(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {J: {"schema": schema}}}


def _op(summary: str, ok: dict[str, Any], *codes: int, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    responses = {str(c): _resp(ERROR, _ERRORS[c]) for c in (401, 502, 503, *codes)}
    responses.update({"200": _resp(ok, "OK"), **(extra or {})})
    op: dict[str, Any] = {"summary": summary, "tags": ["kafka"], "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {J: {"schema": body}}}
        op["responses"].update({str(c): _resp(ERROR, _ERRORS[c]) for c in (400, 403, 413, 415)})
    if params:
        op["parameters"] = params
    return op


MESSAGE = _obj({"key": {"type": ["string", "number", "null"]},
                "value": {"description": "a string (sent as UTF-8) or any JSON value, not null"},
                "headers": {"oneOf": [STR_MAP, {"type": "null"}]}}, ["value"])
SEND_RESULT = _obj({"success": {"type": "boolean"}, "topic": {"type": "string"},
                    "partition": {"type": ["integer", "null"]},
                    "offset": {"type": ["integer", "null"]}, "latency_ms": NUM, "error": TEXT})
BATCH_RESULT = _obj({"total": {"type": "integer"}, "sent": {"type": "integer"},
                     "failed": {"type": "integer"}, "success_rate": {"type": "number"},
                     "duration_sec": {"type": "number"}, "throughput_msg_s": {"type": "number"},
                     "errors": {"type": "array", "items": {"type": "string"}}})
STATS = {"messages": {"type": "integer"}, "bytes": {"type": "integer"},
         "failures": {"type": "integer"}, "latency_avg_ms": NUM, "latency_p50_ms": NUM,
         "latency_p95_ms": NUM, "latency_p99_ms": NUM, "throughput_msg_s": NUM}
HOURLY = {"type": "array", "items": _obj({"hour": {"type": "string", "format": "date-time"},
                                          **STATS})}
TOPICS = {"type": "array", "items": _obj({
    "topic": {"type": "string"}, "connection": {"type": "string"},
    "messages": {"type": "integer"}, "bytes": {"type": "integer"},
    "failures": {"type": "integer"}, "latency_avg_ms": NUM, "latency_p95_ms": NUM,
    "last_message_at": TEXT})}
HEALTH = _obj({"status": {"type": "string",
                          "enum": ["healthy", "degraded", "unhealthy", "not_configured"]},
               "connections": {"type": "array", "items": _obj({
                   "name": {"type": "string"}, "healthy": {"type": "boolean"},
                   "reachable": {"type": "boolean"}, "latency_ms": NUM, "error": TEXT,
                   "producer": {"type": "object"}, "last_run": {"type": ["object", "null"]}})}})
CONNECTION_BODY = _obj({"connection": {"type": "string", "minLength": 1}})
TOPIC = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,249}$"}

OPERATIONS: dict[str, dict[str, Any]] = {
    "connections": {"get": _op("Kafka connections of connections.json (secrets masked)",
                               {"type": "array", "items": {"type": "object"}})},
    "test": {"post": _op("Test a Kafka connection (metadata request)", _obj({
        "connection": {"type": "string"}, "success": {"type": "boolean"},
        "brokers": {"type": "array", "items": {"type": "string"}}, "latency_ms": NUM,
        "error": TEXT}), 404, body=CONNECTION_BODY)},
    "send": {"post": _op("Publish one message (retried with backoff); 502 if not delivered",
                         SEND_RESULT, 404, body={**MESSAGE, "properties": {
                             **MESSAGE["properties"], "connection": {"type": "string"},
                             "topic": TOPIC}, "required": ["connection", "topic", "value"]},
                         extra={"502": _resp(SEND_RESULT, "Not delivered (see error)")})},
    "batch": {"post": _op("Publish up to 10000 messages in chunks", BATCH_RESULT, 404,
                          body=_obj({"connection": {"type": "string"}, "topic": TOPIC,
                                     "messages": {"type": "array", "items": MESSAGE,
                                                  "minItems": 1, "maxItems": 10000},
                                     "batch_size": {"type": "integer", "minimum": 1,
                                                    "maximum": 10000}},
                                    ["connection", "topic", "messages"]))},
    "metrics_summary": {"get": _op("Totals of the window", {"type": "object", "properties": {
        **STATS, "success_rate": NUM}}, 400, params=HOURS)},
    "metrics_hourly": {"get": _op("One entry per hour of the window, oldest first", HOURLY, 400,
                                  params=HOURS)},
    "metrics_topics": {"get": _op("Per topic and connection", TOPICS, 400, params=HOURS)},
    "health": {"get": _op("Every Kafka connection: reachable, producer usable, last run "
                          "not failed", HEALTH)},
}
