"""The Kafka service: connections, producers, single and batch publish, tests and health.

Asynchronous methods never block the event loop: delivery reports are resolved into asyncio
futures with ``loop.call_soon_threadsafe``; blocking calls (metadata requests, waiting for a
batch) run in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pstt_core import NotFoundError
from pstt_core.config import mask

from .encoding import encode_headers, encode_key, encode_messages, encode_value
from .metrics import KafkaMetricsService
from .models import SECRET_FIELDS, KafkaConnectionConfig, validate_topic
from .probe import probe
from .producer import ProducerHandle, producer_config
from .publish import Publisher
from .settings import setting

log = logging.getLogger("pstt.kafka")

# Delivery errors worth another attempt of a single send (leadership moves, broker restarts).
_RETRIABLE = ("_MSG_TIMED_OUT", "_TRANSPORT", "_ALL_BROKERS_DOWN", "_TIMED_OUT", "_QUEUE_FULL",
              "NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE", "REQUEST_TIMED_OUT",
              "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "NETWORK_EXCEPTION")


def is_retriable(err: Any) -> bool:
    from confluent_kafka import KafkaError

    codes = {getattr(KafkaError, name) for name in _RETRIABLE if hasattr(KafkaError, name)}
    return bool(err.retriable()) or err.code() in codes


class KafkaService:
    def __init__(self, pstt: Any):
        self.pstt = pstt
        self.settings = pstt.settings
        self.connections: dict[str, KafkaConnectionConfig] = dict(
            pstt.config.section("kafka_connections"))
        self.config = pstt.config  # the configuration these connections come from
        self._retired: list[ProducerHandle] = []
        self.metrics = KafkaMetricsService(
            pstt.home.exports / "kafka_metrics.json",
            retention_days=self.setting("KAFKA_METRICS_RETENTION_DAYS"),
            flush_interval=self.setting("KAFKA_METRICS_FLUSH_INTERVAL_SEC"),
            samples=self.setting("KAFKA_METRICS_LATENCY_SAMPLES"))
        self._producers: dict[tuple[str, str | None, bool], ProducerHandle] = {}
        self._lock = threading.Lock()
        self.closed = False

    def setting(self, name: str) -> Any:
        return setting(self.settings, name)

    def follow(self, config: Any) -> None:
        """Take the connections of a re-read ``connections.json``: producers of a connection
        that changed or went away are not used again (a run still using one finishes with
        it; they are closed with the service)."""
        fresh: dict[str, KafkaConnectionConfig] = dict(config.section("kafka_connections"))
        with self._lock:
            for key in [k for k in self._producers if fresh.get(k[0]) != self.connections.get(k[0])]:
                self._retired.append(self._producers.pop(key))
            self.connections, self.config = fresh, config

    # -- connections -----------------------------------------------------------------
    def connection_names(self) -> list[str]:
        return sorted(self.connections)

    def connection(self, name: str) -> KafkaConnectionConfig:
        try:
            return self.connections[name]
        except KeyError:
            known = ", ".join(sorted(self.connections)) or "none"
            raise NotFoundError(f"unknown Kafka connection {name!r}; configured: {known}") from None

    def masked_connections(self) -> list[dict[str, Any]]:
        return [mask(self.connections[n], SECRET_FIELDS) for n in self.connection_names()]

    def producer(self, name: str, compression: str | None = None,
                 single: bool = False) -> ProducerHandle:
        """The connection's producer, made on first use and reused: one for exports and batches
        (per compression override) and one for single sends, which must not wait for a batch
        to fill (``linger.ms`` 0)."""
        conn = self.connection(name)
        key = (name, compression, single)
        with self._lock:
            handle = self._producers.get(key)
            if handle is None or handle.closed:
                overrides: dict[str, Any] = {}
                if compression:
                    overrides["compression.type"] = compression
                if single:
                    overrides["linger.ms"] = 0
                handle = ProducerHandle(name, producer_config(conn, self.settings, overrides))
                self._producers[key] = handle
            return handle

    def publisher(self, connection: str, topic: str, chunk_size: int | None = None,
                  compression: str | None = None) -> Publisher:
        handle = self.producer(connection, compression)
        return Publisher(handle, topic, chunk_size or self.setting("KAFKA_BATCH_SIZE"),
                         samples=self.setting("KAFKA_METRICS_LATENCY_SAMPLES"))

    def record(self, connection: str, pub: Publisher) -> None:
        """Add a finished publisher's figures to the metrics."""
        self.metrics.record(connection, pub.topic, messages=pub.sent, bytes=pub.sent_bytes,
                            failures=pub.failed, latency_sum_ms=pub.latency_sum_ms,
                            latency_count=pub.latency_count, samples=pub.samples,
                            busy_sec=pub.duration_sec)

    # -- connection test and health ----------------------------------------------------
    def test_connection_sync(self, name: str, timeout_ms: int | None = None) -> dict[str, Any]:
        """Ask the cluster for metadata with a fresh client (so bad credentials show up)."""
        timeout = (timeout_ms or self.setting("KAFKA_TEST_TIMEOUT_MS")) / 1000.0
        return probe(self.connection(name), self.settings, timeout)

    async def test_connection(self, name: str) -> dict[str, Any]:
        self.connection(name)
        return await asyncio.to_thread(self.test_connection_sync, name)

    def health_sync(self) -> dict[str, Any]:
        names = self.connection_names()
        if not names:
            return {"status": "not_configured", "connections": []}
        timeout = self.setting("KAFKA_HEALTH_CHECK_TIMEOUT_MS")
        with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
            results = list(pool.map(lambda n: self.test_connection_sync(n, timeout), names))
        conns = [{"name": r["connection"], "healthy": r["success"], "latency_ms": r["latency_ms"],
                  "error": r["error"], "brokers": r["brokers"]} for r in results]
        healthy = sum(1 for c in conns if c["healthy"])
        status = ("healthy" if healthy == len(conns) else "unhealthy" if healthy == 0
                  else "degraded")
        return {"status": status, "connections": conns}

    async def health(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.health_sync)

    # -- publishing ------------------------------------------------------------------
    async def send(self, connection: str, topic: str, value: Any, key: Any = None,
                   headers: Any = None) -> dict[str, Any]:
        """One message, retried with backoff 100 → 200 → 400 ms on retriable errors."""
        self.connection(connection)
        validate_topic(topic)
        payload, raw_key = encode_value(value), encode_key(key)
        raw_headers = encode_headers(headers)
        handle = await asyncio.to_thread(self.producer, connection, None, True)
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
                error = _text(exc)
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
        self.connection(connection)
        validate_topic(topic)
        encoded = encode_messages(messages)
        pub = self.publisher(connection, topic, batch_size)
        for value, key, headers in encoded:
            pub.add(value, key, headers)
        pub.wait(max(self.setting("KAFKA_TIMEOUT_MS") / 1000.0, 1.0))
        self.record(connection, pub)
        self.metrics.flush()
        return pub.result().to_dict()

    async def send_batch(self, connection: str, topic: str, messages: list[dict[str, Any]],
                         batch_size: int | None = None) -> dict[str, Any]:
        self.connection(connection)
        validate_topic(topic)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            from pstt_core import ConfigError

            raise ConfigError("batch_size must be a whole number of at least 1", path="batch_size")
        encode_messages(messages)  # fail fast with a 400 before a thread is used
        return await asyncio.to_thread(self.send_batch_sync, connection, topic, messages,
                                       batch_size)

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        """Flush and close every producer, then write the metrics."""
        with self._lock:
            handles = [*self._producers.values(), *self._retired]
            self._producers.clear()
            self._retired.clear()
            self.closed = True
        for handle in handles:
            try:
                handle.close(timeout=self.setting("KAFKA_TIMEOUT_MS") / 1000.0)
            except Exception:
                log.exception("closing Kafka producer %s failed", handle.name)
        self.metrics.close()

    def __enter__(self) -> KafkaService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _resolve(fut: asyncio.Future[Any], report: Any) -> None:
    if not fut.done():
        fut.set_result(report)


def _text(exc: BaseException) -> str:
    err = exc.args[0] if exc.args else None
    if err is not None and hasattr(err, "str"):
        return str(err.str())
    return f"{type(exc).__name__}: {exc}"
