"""The export path: Kafka connections by name and a pool of producers, one per connection
(and compression override), reused by every run and API batch; a publisher per stream.

Producers are made on first use and closed by :meth:`ProducerPool.close` (the plugin's
runtime is an ``env.state`` resource, so ``Pstt.close()`` closes it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from pstt_core import NotFoundError

from .failures import ClusterUnavailable
from .models import KafkaConnectionConfig
from .producer import ProducerHandle, error_text, producer_config
from .publish import Publisher
from .settings import setting

log = logging.getLogger("pstt.kafka")


class ProducerPool:
    def __init__(self, connections: Mapping[str, KafkaConnectionConfig],
                 settings: Mapping[str, Any]):
        self.connections = dict(connections)
        self.settings = settings
        self._producers: dict[tuple[str, str | None, bool | str], ProducerHandle] = {}
        self._retired: list[ProducerHandle] = []
        self.rebuilt: dict[str, int] = {}
        self.last_broken: dict[str, str] = {}
        self._lock = threading.Lock()
        self.closed = False

    def setting(self, name: str) -> Any:
        return setting(self.settings, name)

    def follow(self, connections: Mapping[str, KafkaConnectionConfig]) -> None:
        """Take the connections of a re-read ``connections.json``: producers of a connection
        that changed or went away are not used again (a run still using one finishes with
        it; they are closed with the pool)."""
        if connections == self.connections:
            return
        fresh = dict(connections)
        with self._lock:
            for key in [k for k in self._producers
                        if fresh.get(k[0]) != self.connections.get(k[0])]:
                self._retired.append(self._producers.pop(key))
            self.connections = fresh

    def connection_names(self) -> list[str]:
        return sorted(self.connections)

    def connection(self, name: str) -> KafkaConnectionConfig:
        try:
            return self.connections[name]
        except KeyError:
            known = ", ".join(sorted(self.connections)) or "none"
            raise NotFoundError(f"unknown Kafka connection {name!r}; configured: {known}") from None

    def producer(self, name: str, compression: str | None = None,
                 single: bool = False, transactional_id: str | None = None) -> ProducerHandle:
        """The connection's producer, made on first use and reused: one for exports and batches
        (per compression override) and one for single sends, which must not wait for a batch
        to fill (``linger.ms`` 0)."""
        conn = self.connection(name)
        key = (name, compression, transactional_id or single)
        with self._lock:
            handle = self._producers.get(key)
            if handle is not None and handle.broken and not handle.closed:
                self._retire_broken(handle)
                handle = None
            if handle is None or handle.closed:
                overrides: dict[str, Any] = {}
                if compression:
                    overrides["compression.type"] = compression
                if single:
                    overrides["linger.ms"] = 0
                if transactional_id:
                    overrides.update({"transactional.id": transactional_id, "acks": "all",
                                      "enable.idempotence": True})
                config = producer_config(conn, self.settings, overrides)
                if transactional_id:  # librdkafka wants message timeout <= transaction timeout
                    config.setdefault("transaction.timeout.ms", max(
                        60000, int(config.get("delivery.timeout.ms", 120000))))
                handle = ProducerHandle(name, config)
                if transactional_id:
                    self._init_transactions(handle)
                self._producers[key] = handle
            return handle

    def _init_transactions(self, handle: ProducerHandle) -> None:
        """Register the transactional id with the cluster, which fences any older producer
        (a zombie of an earlier run) that uses the same id."""
        from confluent_kafka import KafkaException

        try:
            handle.producer.init_transactions(self.setting("KAFKA_TIMEOUT_MS") / 1000.0)
        except KafkaException as exc:
            handle.close(timeout=0.5)
            raise ClusterUnavailable(f"Kafka connection {handle.name!r} refused transactions: "
                                     f"{error_text(exc)}") from None

    def _retire_broken(self, handle: ProducerHandle) -> None:
        """A broken producer is replaced; it is closed in the background (its outstanding
        messages are reported as failed) so that the caller does not wait for it."""
        self.rebuilt[handle.name] = self.rebuilt.get(handle.name, 0) + 1
        self.last_broken[handle.name] = handle.broken or ""
        threading.Thread(target=handle.close, kwargs={"timeout": 1.0}, daemon=True,
                         name=f"pstt-kafka-close-{handle.name}").start()

    def state(self, name: str) -> dict[str, Any]:
        """The producer state of a connection for health: broken or not, rebuilds so far."""
        with self._lock:
            broken = [h.broken for (conn, _c, _s), h in self._producers.items()
                      if conn == name and h.broken and not h.closed]
        return {"broken": broken[0] if broken else None, "rebuilt": self.rebuilt.get(name, 0),
                "last_rebuild_reason": self.last_broken.get(name)}

    def publisher(self, connection: str, topic: str, chunk_size: int | None = None,
                  compression: str | None = None,
                  transactional_id: str | None = None) -> Publisher:
        handle = self.producer(connection, compression, transactional_id=transactional_id)
        return Publisher(handle, topic, chunk_size or self.setting("KAFKA_BATCH_SIZE"),
                         samples=self.setting("KAFKA_METRICS_LATENCY_SAMPLES"),
                         stall_timeout=self.setting("KAFKA_TIMEOUT_MS") / 1000.0)

    def close(self) -> None:
        """Flush and close every producer (waiting at most KAFKA_TIMEOUT_MS each)."""
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
