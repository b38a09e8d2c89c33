"""One confluent-kafka producer per connection, with a poll thread serving delivery reports.

``confluent_kafka`` is imported lazily so the plugin loads (and reports itself unavailable)
when it is not installed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from .failures import ALL_BROKERS_DOWN, is_fatal
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
    """Keeps the recent client-level errors (authentication, TLS, all brokers down), each with
    when it arrived, so that a run shows the errors of its own time and not a stale one."""

    def __init__(self, name: str, on_fatal: Callable[[str], None] | None = None):
        self.name = name
        self.last: str | None = None
        self.at = 0.0
        self.recent: deque[tuple[float, int, str]] = deque(maxlen=32)
        self.on_fatal = on_fatal

    def __call__(self, err: Any) -> None:
        text = err.str() if hasattr(err, "str") else str(err)
        if text != self.last:
            rdlog.warning("kafka connection %s: %s", self.name, text)
        self.last = text
        self.at = time.monotonic()
        code = err.code() if hasattr(err, "code") else 0
        self.recent.append((self.at, code, text))
        if self.on_fatal is not None and is_fatal(err):
            self.on_fatal(text)

    def since(self, moment: float) -> str | None:
        """The newest error at or after ``moment`` (``time.monotonic()``), if any."""
        if self.recent and self.recent[-1][0] >= moment:
            return self.recent[-1][2]
        return None

    def cause_since(self, moment: float) -> str | None:
        """The newest error since ``moment`` that says *why* (a refused connection, TLS,
        SASL), rather than librdkafka's summary "all brokers are down"."""
        fallback = None
        for at, code, text in reversed(self.recent):
            if at < moment:
                break
            if code != ALL_BROKERS_DOWN:
                return text
            fallback = fallback or text
        return fallback

    def all_down_since(self, moment: float) -> str | None:
        """librdkafka's "all brokers are down" text if it came at or after ``moment``."""
        for at, code, text in reversed(self.recent):
            if at < moment:
                break
            if code == ALL_BROKERS_DOWN:
                return text
        return None


class ProducerHandle:
    """A producer and the thread that polls it; ``close()`` flushes, stops the thread and
    destroys the client (librdkafka's threads end with it)."""

    def __init__(self, name: str, config: Mapping[str, Any]):
        from confluent_kafka import Producer

        self.name = name
        self.config = dict(config)  # holds secrets: never log it
        self.errors = ErrorTracker(name, on_fatal=self.mark_broken)
        # Why this producer must not be used again (a fatal error, a stalled cluster).
        self.broken: str | None = None
        # When the cluster last answered it (time.monotonic()); 0: not yet.
        self.last_ok = 0.0
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

    def mark_broken(self, reason: str) -> None:
        """Keep the first reason; the pool then builds a new producer for the next user."""
        if self.broken is None:
            self.broken = reason
            log.warning("kafka connection %s: producer will be rebuilt: %s", self.name, reason)

    def give_up(self, reason: str) -> None:
        """The cluster stopped answering: report every outstanding message as failed now
        (purged) instead of after the delivery timeout, and retire this producer."""
        self.mark_broken(reason)
        try:
            self.producer.purge()
        except Exception:  # purging a closed or fatally failed client: nothing to purge
            log.debug("kafka purge failed (%s)", self.name, exc_info=True)

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
