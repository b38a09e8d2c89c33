"""Connection test and health probe: a metadata request with a fresh, short-lived client.

A fresh client (not the shared producer) makes bad credentials, TLS problems and refused
connections show up now, with librdkafka's own explanation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from .failures import SLICE_SEC
from .models import KafkaConnectionConfig
from .producer import ErrorTracker, error_text, security_properties
from .settings import setting


def probe(conn: KafkaConnectionConfig, settings: Mapping[str, Any],
          timeout: float) -> dict[str, Any]:
    """``{"connection", "success", "brokers", "latency_ms", "error"}`` for one cluster."""
    from confluent_kafka import KafkaException, Producer

    tracker = ErrorTracker(conn.name)
    conf: dict[str, Any] = {
        **security_properties(conn), "error_cb": tracker, "log_level": 2,
        "logger": logging.getLogger("pstt.kafka.librdkafka"),
        "socket.connection.setup.timeout.ms": max(1000, int(timeout * 1000)),
        "client.id": setting(settings, "KAFKA_CLIENT_ID")}
    if conn.ssl_check_hostname is None and conn.security_protocol.endswith("SSL"):
        conf["ssl.endpoint.identification.algorithm"] = setting(
            settings, "KAFKA_SSL_ENDPOINT_IDENTIFICATION")
    result: dict[str, Any] = {"connection": conn.name, "success": False, "brokers": [],
                              "latency_ms": None, "error": None}
    t0 = time.perf_counter()
    try:
        client = Producer(conf)
    except Exception as exc:  # bad client configuration, e.g. an unreadable certificate
        result["error"] = f"client configuration refused: {error_text(exc)}"
        return result
    try:
        meta = _metadata(client, tracker, timeout)
        result["latency_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        result["brokers"] = sorted(f"{b.host}:{b.port}" for b in meta.brokers.values())
        result["success"] = bool(result["brokers"])
        if not result["success"]:
            result["error"] = "the cluster reported no brokers"
    except KafkaException as exc:
        client.poll(0)  # serve queued error callbacks: they say *why* (TLS, SASL, refused)
        detail = tracker.cause_since(0.0)
        waited = time.perf_counter() - t0
        result["error"] = (f"{error_text(exc)} after {waited:.2g} s"
                           + (f"; {detail}" if detail else "")
                           + f" (bootstrap servers {', '.join(conn.bootstrap_servers)})")
    finally:
        client.flush(0)
    if result["success"] and tracker.last and "auth" in tracker.last.lower():
        result.update(success=False, error=tracker.last)
    return result


def _metadata(client: Any, tracker: ErrorTracker, timeout: float) -> Any:
    """The cluster's metadata, asked in short slices so that a refused connection ("all
    brokers are down") ends the wait at once instead of after ``timeout``."""
    from confluent_kafka import KafkaException

    started = time.monotonic()
    deadline = started + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return client.list_topics(timeout=max(0.01, min(SLICE_SEC, left)))
        except KafkaException:
            client.poll(0)
            if time.monotonic() >= deadline or tracker.all_down_since(started):
                raise
