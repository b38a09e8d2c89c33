"""``/api/kafka/…``: the Kafka HTTP API (SPEC §10), contributed through ``register_routes``.

Handlers are ``async`` and await the service's async methods, so a slow broker never blocks
the event loop. Every failure is a JSON ``{"error": …}``: bad input 400 (naming the field),
unknown connection 404, confluent-kafka missing 503 (with the install hint), broker or
client failure 502 — never a 500 with a traceback.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from pstt_core import ConfigError, NotFoundError, PluginEnv, SinkError
from pstt_core.web import SharedResult, error, json_body

from .models import SECTION, validate_topic

if TYPE_CHECKING:
    from .gateway import KafkaGateway
    from .runtime import KafkaRuntime

log = logging.getLogger("pstt.kafka.api")

INSTALL_HINT = 'pip install "pstt[kafka]"'
# A batch is held in memory and answered in one response: cap it (and say so in the docs).
MAX_BATCH_MESSAGES = 10_000
MAX_HOURS = 720  # 30 days: the metrics retention

Handler = Callable[[Request], Awaitable[Response]]


def kafka_installed() -> bool:
    return importlib.util.find_spec("confluent_kafka") is not None


def configured(env: PluginEnv) -> bool:
    return bool(env.section(SECTION))


# -- input validation: each helper names the field it rejects ------------------------------
def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    if value is None:
        raise ConfigError("is required", path=field)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a non-empty string", path=field)
    return value


def _key(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError("must be a string (or a number, sent as text)", path=field)
    return str(value)


def _headers(value: Any, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError("must be an object mapping header names to string values", path=field)
    return value


def _value(data: dict[str, Any], field: str) -> Any:
    if "value" not in data or data["value"] is None:
        raise ConfigError("is required (a string or any JSON value)", path=field)
    return data["value"]


def _int(raw: Any, field: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        try:
            raw = int(raw) if isinstance(raw, str) else None
        except ValueError:
            raw = None
        if raw is None:
            raise ConfigError(f"must be a whole number between {low} and {high}", path=field)
    if not low <= raw <= high:
        raise ConfigError(f"must be between {low} and {high}, got {raw}", path=field)
    return raw


def parse_message(item: Any, where: str) -> dict[str, Any]:
    """One message of a batch (``where`` = ``messages[3]``) or of ``/send`` (``where`` = "")."""
    if not isinstance(item, dict):
        raise ConfigError("must be an object with 'value' (and optional 'key', 'headers')",
                          path=where)
    if where:
        unknown = sorted(set(item) - {"key", "value", "headers"})
        if unknown:
            raise ConfigError(f"unknown field(s) {', '.join(unknown)}; allowed: key, value, "
                              "headers", path=where)
    prefix = f"{where}." if where else ""
    return {"key": _key(item.get("key"), f"{prefix}key"),
            "value": _value(item, f"{prefix}value"),
            "headers": _headers(item.get("headers"), f"{prefix}headers")}


def parse_batch(data: dict[str, Any]) -> list[dict[str, Any]]:
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConfigError("must be a non-empty list of messages", path="messages")
    if len(messages) > MAX_BATCH_MESSAGES:
        raise ConfigError(f"has {len(messages)} messages; at most {MAX_BATCH_MESSAGES} per request "
                          "(split the batch)", path="messages")
    return [parse_message(m, f"messages[{i}]") for i, m in enumerate(messages)]


# -- handlers ------------------------------------------------------------------------------
def guarded(handler: Handler) -> Handler:
    """Turn the service's exceptions into JSON errors with the right status."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        if not kafka_installed():
            return error(503, f"Kafka support is not installed: {INSTALL_HINT}",
                         install_hint=INSTALL_HINT)
        try:
            return await handler(request)
        except ConfigError as exc:
            return error(400, str(exc))
        except NotFoundError as exc:
            return error(404, str(exc))
        except SinkError as exc:
            return error(502, str(exc))
        except Exception as exc:  # a client or broker failure must not become a 500 page
            log.exception("Kafka API %s %s failed", request.method, request.url.path)
            return error(502, f"Kafka request failed: {type(exc).__name__}: {exc}")

    return wrapper


class KafkaApi:
    """The endpoints, bound to one facade."""

    def __init__(self, env: PluginEnv):
        self.env = env
        # GET /health probes every broker: one probe at a time, its result shared for
        # PSTT_HEALTH_CACHE_SEC, as GET /api/health does
        self.health_cache = SharedResult(lambda: self.service().health_sync(),
                                         env.settings["PSTT_HEALTH_CACHE_SEC"])

    def runtime(self) -> KafkaRuntime:
        from .runtime import runtime

        return runtime(self.env)

    def service(self) -> KafkaGateway:
        return self.runtime().gateway

    def _require(self, name: str) -> None:
        names = self.env.section(SECTION)
        if not names:
            raise NotFoundError(f"unknown Kafka connection {name!r}: connections.json has no "
                                f"'{SECTION}' section")
        if name not in names:
            raise NotFoundError(f"unknown Kafka connection {name!r}; configured: "
                                f"{', '.join(sorted(names))}")

    async def connections(self, request: Request) -> Response:
        if not configured(self.env):
            return JSONResponse([])
        return JSONResponse(self.runtime().masked_connections())

    async def test(self, request: Request) -> Response:
        name = _text(await json_body(request), "connection")
        self._require(name)
        return JSONResponse(await self.service().test_connection(name))

    async def send(self, request: Request) -> Response:
        data = await json_body(request)
        name = _text(data, "connection")
        message = parse_message(data, "")
        topic = validate_topic(_text(data, "topic"))
        self._require(name)
        result = await self.service().send(name, topic, message["value"], key=message["key"],
                                           headers=message["headers"])
        # The body always has the SPEC shape; a failed delivery is also a 502 for HTTP clients.
        return JSONResponse(result, status_code=200 if result.get("success") else 502)

    async def batch(self, request: Request) -> Response:
        data = await json_body(request)
        name = _text(data, "connection")
        topic = validate_topic(_text(data, "topic"))
        messages = parse_batch(data)
        batch_size = None
        if data.get("batch_size") is not None:
            batch_size = _int(data["batch_size"], "batch_size", 1, MAX_BATCH_MESSAGES)
        self._require(name)
        return JSONResponse(await self.service().send_batch(name, topic, messages,
                                                            batch_size=batch_size))

    def _hours(self, request: Request) -> int:
        raw = request.query_params.get("hours")
        return 24 if raw in (None, "") else _int(raw, "hours", 1, MAX_HOURS)

    async def _metrics(self, method: str, hours: int) -> Any:
        metrics = self.runtime().metrics
        # The metrics service guards its buckets with a lock and may touch the file: thread.
        return await run_in_threadpool(getattr(metrics, method), hours=hours)

    async def metrics_summary(self, request: Request) -> Response:
        from .metrics import history_summary

        hours = self._hours(request)
        summary = await self._metrics("summary", hours)
        summary["history"] = await run_in_threadpool(history_summary, self.env.history, hours)
        return JSONResponse(summary)

    async def metrics_hourly(self, request: Request) -> Response:
        return JSONResponse(await self._metrics("hourly", self._hours(request)))

    async def metrics_topics(self, request: Request) -> Response:
        return JSONResponse(await self._metrics("topics", self._hours(request)))

    async def health(self, request: Request) -> Response:
        if not configured(self.env):
            return JSONResponse({"status": "not_configured", "connections": []})
        return JSONResponse(await self.health_cache.get())


def api_mount(env: PluginEnv) -> Mount:
    from .openapi import OPERATIONS

    api = KafkaApi(env)
    table = [("/connections", "connections", "GET"), ("/test", "test", "POST"),
             ("/send", "send", "POST"), ("/batch", "batch", "POST"),
             ("/metrics/summary", "metrics_summary", "GET"),
             ("/metrics/hourly", "metrics_hourly", "GET"),
             ("/metrics/topics", "metrics_topics", "GET"), ("/health", "health", "GET")]
    routes: list[BaseRoute] = []
    for path, name, method in table:
        endpoint = guarded(getattr(api, name))
        endpoint.openapi = OPERATIONS[name]  # type: ignore[attr-defined]
        routes.append(Route(path, endpoint, methods=[method], name=f"kafka_{name}"))
    return Mount("/api/kafka", routes=routes)
