"""The HTTP gateway: what ``/api/kafka`` and ``pstt kafka`` do besides exports — a single
send with retries, a batch, a connection test and the health probe.

Asynchronous methods never block the event loop: delivery reports are resolved into asyncio
futures with ``loop.call_soon_threadsafe``; blocking calls (metadata requests, waiting for a
batch) run in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .encoding import encode_headers, encode_key, encode_messages, encode_value
from .metrics import KafkaMetricsService
from .models import validate_topic
from .pool import ProducerPool
from .probe import probe
from .producer import error_text

# Delivery errors worth another attempt of a single send (leadership moves, broker restarts).
_RETRIABLE = ("_MSG_TIMED_OUT", "_TRANSPORT", "_ALL_BROKERS_DOWN", "_TIMED_OUT", "_QUEUE_FULL",
              "NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE", "REQUEST_TIMED_OUT",
              "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "NETWORK_EXCEPTION")


def is_retriable(err: Any) -> bool:
    from confluent_kafka import KafkaError

    codes = {getattr(KafkaError, name) for name in _RETRIABLE if hasattr(KafkaError, name)}
    return bool(err.retriable()) or err.code() in codes


class KafkaGateway:
    def __init__(self, pool: ProducerPool, metrics: KafkaMetricsService,
                 last_runs: Callable[[], dict[str, dict[str, Any]]] | None = None):
        self.pool = pool
        self.metrics = metrics
        self.settings = pool.settings
        # connection name → its newest run record (health tells the outcome of runs too)
        self.last_runs = last_runs or dict

    def setting(self, name: str) -> Any:
        return self.pool.setting(name)

    # -- connection test and health ----------------------------------------------------
    def test_connection_sync(self, name: str, timeout_ms: int | None = None) -> dict[str, Any]:
        """Ask the cluster for metadata with a fresh client (so bad credentials show up)."""
        timeout = (timeout_ms or self.setting("KAFKA_TEST_TIMEOUT_MS")) / 1000.0
        return probe(self.pool.connection(name), self.settings, timeout)

    async def test_connection(self, name: str) -> dict[str, Any]:
        self.pool.connection(name)
        return await asyncio.to_thread(self.test_connection_sync, name)

    def health_sync(self) -> dict[str, Any]:
        names = self.pool.connection_names()
        if not names:
            return {"status": "not_configured", "connections": []}
        timeout = self.setting("KAFKA_HEALTH_CHECK_TIMEOUT_MS")
        with ThreadPoolExecutor(max_workers=min(8, len(names))) as workers:
            results = list(workers.map(lambda n: self.test_connection_sync(n, timeout), names))
        runs = self.last_runs()
        conns = [connection_health(r, self.pool.state(r["connection"]), runs.get(r["connection"]))
                 for r in results]
        reachable = sum(1 for c in conns if c["reachable"])
        healthy = sum(1 for c in conns if c["healthy"])
        status = ("healthy" if healthy == len(conns) else "unhealthy" if reachable == 0
                  else "degraded")
        return {"status": status, "connections": conns}

    async def health(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.health_sync)

    # -- publishing ------------------------------------------------------------------
    async def send(self, connection: str, topic: str, value: Any, key: Any = None,
                   headers: Any = None) -> dict[str, Any]:
        """One message, retried with backoff 100 → 200 → 400 ms on retriable errors."""
        self.pool.connection(connection)
        validate_topic(topic)
        payload, raw_key = encode_value(value), encode_key(key)
        raw_headers = encode_headers(headers)
        handle = await asyncio.to_thread(self.pool.producer, connection, None, True)
        loop = asyncio.get_running_loop()
        retries = self.setting("KAFKA_SEND_RETRIES")
        backoff = self.setting("KAFKA_SEND_BACKOFF_MS") / 1000.0
        budget = self.setting("KAFKA_TIMEOUT_MS") / 1000.0
        t0 = time.perf_counter()
        deadline = time.monotonic() + budget
        error: str | None = None
        attempts = 0
        for attempt in range(retries + 1):
            attempts = attempt + 1
            fut: asyncio.Future[tuple[Any, int, int, float | None]] = loop.create_future()

            def on_delivery(err: Any, msg: Any, fut: asyncio.Future[Any] = fut) -> None:
                report = (err, msg.partition(), msg.offset(), msg.latency())
                with contextlib.suppress(RuntimeError):  # the caller's loop may be gone
                    loop.call_soon_threadsafe(_resolve, fut, report)

            try:
                handle.producer.produce(topic, payload, raw_key, on_delivery=on_delivery,
                                        headers=raw_headers)
            except BufferError:
                error = "the producer's local queue is full"
            except Exception as exc:
                error = error_text(exc)
                break
            else:
                try:
                    err, partition, offset, latency = await asyncio.wait_for(
                        fut, max(0.1, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    last = handle.errors.last
                    error = (f"no acknowledgement within {budget:g} s (KAFKA_TIMEOUT_MS)"
                             + (f"; {last}" if last else ""))
                    break
                if err is None:
                    elapsed = time.perf_counter() - t0
                    self.metrics.record(connection, topic, messages=1,
                                        bytes=len(payload) + len(raw_key or b""),
                                        latency_sum_ms=(latency or elapsed) * 1000,
                                        latency_count=1, samples=[(latency or elapsed) * 1000],
                                        busy_sec=elapsed, flush=False)
                    await self._flush_metrics_if_due()
                    return {"success": True, "topic": topic, "partition": partition,
                            "offset": offset, "latency_ms": round(elapsed * 1000, 3),
                            "error": None, "attempts": attempt + 1}
                error = err.str()
                if not is_retriable(err):
                    break
            if attempt < retries and time.monotonic() + backoff < deadline:
                await asyncio.sleep(backoff)
                backoff *= 2
            else:
                break
        self.metrics.record(connection, topic, failures=1, flush=False)
        await self._flush_metrics_if_due()
        return {"success": False, "topic": topic, "partition": None, "offset": None,
                "latency_ms": round((time.perf_counter() - t0) * 1000, 3), "error": error,
                "attempts": attempts}

    async def _flush_metrics_if_due(self) -> None:
        """The periodic metrics write, off the event loop (it fsyncs)."""
        if self.metrics.flush_due():
            await asyncio.to_thread(self.metrics.flush)

    def send_batch_sync(self, connection: str, topic: str, messages: list[dict[str, Any]],
                        batch_size: int | None = None) -> dict[str, Any]:
        """``messages`` as the API parsed them (``{"key", "value", "headers"}``)."""
        self.pool.connection(connection)
        validate_topic(topic)
        encoded = encode_messages(messages)
        pub = self.pool.publisher(connection, topic, batch_size)
        for value, key, headers in encoded:
            pub.add(value, key, headers)
        pub.wait(max(self.setting("KAFKA_TIMEOUT_MS") / 1000.0, 1.0))
        self.metrics.record_publisher(connection, pub)
        self.metrics.flush()
        return pub.result().to_dict()

    async def send_batch(self, connection: str, topic: str, messages: list[dict[str, Any]],
                         batch_size: int | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self.send_batch_sync, connection, topic, messages,
                                       batch_size)


def connection_health(probe: dict[str, Any], producer: dict[str, Any],
                      last_run: dict[str, Any] | None) -> dict[str, Any]:
    """One connection's health: reachable now, its shared producer usable, and its newest
    run not failed. ``error`` says the first of these that is not true."""
    run = None
    if last_run is not None:
        run = {key: last_run.get(key) for key in
               ("export_id", "schedule_id", "status", "finished_at", "error")}
    error = probe["error"]
    if error is None and producer["broken"]:
        error = f"producer will be rebuilt for the next run: {producer['broken']}"
    if error is None and run is not None and run["status"] in ("failed", "interrupted"):
        error = f"last run {run['status']} ({run['schedule_id']}): {run['error']}"
    return {"name": probe["connection"], "healthy": error is None,
            "reachable": bool(probe["success"]), "latency_ms": probe["latency_ms"],
            "error": error, "brokers": probe["brokers"], "producer": producer, "last_run": run}


def _resolve(fut: asyncio.Future[Any], report: Any) -> None:
    if not fut.done():
        fut.set_result(report)
