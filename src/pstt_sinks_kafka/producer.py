"""One confluent-kafka producer per connection, with a poll thread serving delivery reports.

``confluent_kafka`` is imported lazily so the plugin loads (and reports itself unavailable)
when it is not installed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from .models import KafkaConnectionConfig
from .settings import producer_properties

log = logging.getLogger("pstt.kafka")
rdlog = logging.getLogger("pstt.kafka.librdkafka")

# Per-connection fields → librdkafka properties (they override the KAFKA_* settings).
_OVERRIDES = {
    "acks": "acks", "compression_type": "compression.type",
    "enable_idempotence": "enable.idempotence", "linger_ms": "linger.ms",
    "batch_size_bytes": "batch.size", "batch_num_messages": "batch.num.messages",
    "retries": "retries", "retry_backoff_ms": "retry.backoff.ms",
    "request_timeout_ms": "request.timeout.ms", "delivery_timeout_ms": "delivery.timeout.ms",
    "max_in_flight": "max.in.flight.requests.per.connection",
    "message_max_bytes": "message.max.bytes", "client_id": "client.id",
}


def error_text(exc: BaseException) -> str:
    """librdkafka's own text of a ``KafkaException`` (its ``KafkaError``), else the exception."""
    err = exc.args[0] if exc.args else None
    if err is not None and hasattr(err, "str"):
        return str(err.str())
    return f"{type(exc).__name__}: {exc}"


def _prop(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value


def security_properties(conn: KafkaConnectionConfig) -> dict[str, Any]:
    props: dict[str, Any] = {"bootstrap.servers": ",".join(conn.bootstrap_servers),
                             "security.protocol": conn.security_protocol.lower()}
    if conn.security_protocol.startswith("SASL"):
        props.update({"sasl.mechanism": conn.sasl_mechanism, "sasl.username": conn.sasl_username,
                      "sasl.password": conn.sasl_password})
    if conn.ssl_cafile:
        props["ssl.ca.location"] = conn.ssl_cafile
    if conn.ssl_certfile:
        props["ssl.certificate.location"] = conn.ssl_certfile
    if conn.ssl_keyfile:
        props["ssl.key.location"] = conn.ssl_keyfile
    if conn.ssl_key_password:
        props["ssl.key.password"] = conn.ssl_key_password
    if conn.ssl_check_hostname is not None:
        props["ssl.endpoint.identification.algorithm"] = "https" if conn.ssl_check_hostname else "none"
    return props


def producer_config(conn: KafkaConnectionConfig, settings: Mapping[str, Any],
                    overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Settings, then the connection's ``producer`` object, then its flat fields, then
    ``overrides`` (e.g. a schedule's compression), then raw ``producer.extra``."""
    props = producer_properties(settings)
    for source in (conn.producer, conn):
        for field, prop in _OVERRIDES.items():
            value = getattr(source, field, None)
            if value is not None:
                props[prop] = _prop(value)
    for prop, value in (overrides or {}).items():
        if value is not None:
            props[prop] = _prop(value)
    props.update(security_properties(conn))
    if not conn.security_protocol.endswith("SSL"):
        props.pop("ssl.endpoint.identification.algorithm", None)
    # Idempotence requires acks=all: asking for acks 0/1 switches it off rather than failing.
    if props.get("acks") != "all" and props.get("enable.idempotence") == "true":
        props["enable.idempotence"] = "false"
    props.update({k: _prop(v) for k, v in conn.producer.extra.items()})
    return props


class ErrorTracker:
    """Keeps the last client-level error (authentication, TLS, all brokers down)."""

    def __init__(self, name: str):
        self.name = name
        self.last: str | None = None
        self.at = 0.0

    def __call__(self, err: Any) -> None:
        text = err.str() if hasattr(err, "str") else str(err)
        if text != self.last:
            rdlog.warning("kafka connection %s: %s", self.name, text)
        self.last = text
        self.at = time.monotonic()


class ProducerHandle:
    """A producer and the thread that polls it; ``close()`` flushes, stops the thread and
    destroys the client (librdkafka's threads end with it)."""

    def __init__(self, name: str, config: Mapping[str, Any]):
        from confluent_kafka import Producer

        self.name = name
        self.config = dict(config)  # holds secrets: never log it
        self.errors = ErrorTracker(name)
        conf = dict(config)
        conf.setdefault("error_cb", self.errors)
        conf.setdefault("logger", rdlog)
        # Client errors arrive through error_cb (logged once per change); librdkafka's own
        # log would repeat each of them at every reconnect attempt.
        conf.setdefault("log_level", 2)
        self.producer = Producer(conf)
        self.delivery_timeout_ms = int(config.get("delivery.timeout.ms", 120000))
        self._closed = threading.Event()
        self._close_lock = threading.Lock()
        self._destroyed = False
        self._thread = threading.Thread(target=self._poll_loop, name=f"pstt-kafka-{name}",
                                        daemon=True)
        self._thread.start()

    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            try:
                self.producer.poll(0.05)
            except Exception:  # a faulty callback must not stop delivery reports for others
                log.exception("kafka delivery callback failed (%s)", self.name)

    def flush(self, timeout: float) -> int:
        """Wait for outstanding messages; returns how many are still queued."""
        return int(self.producer.flush(timeout))

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self, timeout: float = 30.0) -> int:
        """Wait up to ``timeout`` s for outstanding messages; those still undelivered are
        purged (their delivery reports count them as failed) so that destroying the client
        does not wait for them. Returns how many were purged."""
        with self._close_lock:
            if self._destroyed:
                return 0
            self._destroyed = True
            return self._close(timeout)

    def _close(self, timeout: float) -> int:
        # Stop the poll thread first so that flush() is the only one serving callbacks.
        self._closed.set()
        self._thread.join(timeout=5)
        remaining = self.flush(timeout)
        if remaining:
            log.warning("kafka connection %s closed with %d undelivered message(s)",
                        self.name, remaining)
            self.producer.purge()
            self.producer.flush(1.0)  # serves the purged messages' reports
        self.producer.close()
        return remaining

    def __enter__(self) -> ProducerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
