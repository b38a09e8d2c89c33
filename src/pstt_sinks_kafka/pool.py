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

from .models import KafkaConnectionConfig
from .producer import ProducerHandle, producer_config
from .publish import Publisher
from .settings import setting

log = logging.getLogger("pstt.kafka")


class ProducerPool:
    def __init__(self, connections: Mapping[str, KafkaConnectionConfig],
                 settings: Mapping[str, Any]):
        self.connections = dict(connections)
        self.settings = settings
        self._producers: dict[tuple[str, str | None, bool], ProducerHandle] = {}
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
                 single: bool = False) -> ProducerHandle:
        """The connection's producer, made on first use and reused: one for exports and batches
        (per compression override) and one for single sends, which must not wait for a batch
        to fill (``linger.ms`` 0)."""
        conn = self.connection(name)
        key = (name, compression, single)
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
                handle = ProducerHandle(name, producer_config(conn, self.settings, overrides))
                self._producers[key] = handle
            return handle

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
                  compression: str | None = None) -> Publisher:
        handle = self.producer(connection, compression)
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
