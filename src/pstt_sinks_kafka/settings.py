"""The ``KAFKA_*`` settings (environment / ``.env``) and how they become producer properties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pstt_core import Setting

from .models import ACKS, COMPRESSIONS


def _s(name: str, type_: Any, default: Any, description: str, **kw: Any) -> Setting:
    return Setting(name, type_, default, description, group="kafka", **kw)


KAFKA_SETTINGS: tuple[Setting, ...] = (
    # The six named in the R20260121 release notes.
    _s("KAFKA_TIMEOUT_MS", int, 30000, "Longest wait (ms) of a single send (retries included), of an API batch for its acknowledgements and of flushing producers at shutdown.", minimum=100, maximum=600000),
    _s("KAFKA_BATCH_SIZE", int, 100, "Messages per chunk (unit of accounting) when a schedule sets no batch_size.", minimum=1, maximum=1_000_000),
    _s("KAFKA_SUCCESS_THRESHOLD", float, 95.0, "Success rate (%) at or above which a run with failed messages is `partial`; below it the run is `failed`.", minimum=0, maximum=100),
    _s("KAFKA_COMPRESSION_TYPE", "choice", "snappy", "Message compression.", choices=COMPRESSIONS),
    _s("KAFKA_ACKS", "choice", "all", "Acknowledgements the leader waits for: all (= -1), 1 (leader) or 0 (none).", choices=ACKS, aliases={"-1": "all"}),
    _s("KAFKA_ENABLE_IDEMPOTENCE", bool, True, "Idempotent producer: no duplicates on retry (requires acks=all)."),
    # Batching and buffering.
    _s("KAFKA_LINGER_MS", int, 5, "Time the producer waits to fill a batch (linger.ms).", minimum=0, maximum=900000),
    _s("KAFKA_BATCH_SIZE_BYTES", int, 1_000_000, "Largest message batch in bytes (batch.size).", minimum=1, maximum=2_147_483_647),
    _s("KAFKA_BATCH_NUM_MESSAGES", int, 10000, "Largest number of messages in one batch (batch.num.messages).", minimum=1, maximum=1_000_000),
    _s("KAFKA_QUEUE_BUFFERING_MAX_MESSAGES", int, 100000, "Messages the producer may hold before produce() must wait (queue.buffering.max.messages).", minimum=1, maximum=2_147_483_647),
    _s("KAFKA_QUEUE_BUFFERING_MAX_KBYTES", int, 1_048_576, "Kilobytes the producer may hold (queue.buffering.max.kbytes).", minimum=1, maximum=2_147_483_647),
    _s("KAFKA_MESSAGE_MAX_BYTES", int, 1_000_000, "Largest request / message size (message.max.bytes).", minimum=1000, maximum=1_000_000_000),
    # Retries and timeouts.
    _s("KAFKA_RETRIES", int, 2_147_483_647, "Times librdkafka retries a failed produce request (retries); bounded by KAFKA_DELIVERY_TIMEOUT_MS.", minimum=0, maximum=2_147_483_647),
    _s("KAFKA_RETRY_BACKOFF_MS", int, 100, "First back-off between produce retries (retry.backoff.ms).", minimum=1, maximum=300000),
    _s("KAFKA_RETRY_BACKOFF_MAX_MS", int, 1000, "Largest back-off between produce retries (retry.backoff.max.ms).", minimum=1, maximum=300000),
    _s("KAFKA_REQUEST_TIMEOUT_MS", int, 30000, "Time the broker has to acknowledge a produce request (request.timeout.ms).", minimum=1, maximum=900000),
    _s("KAFKA_DELIVERY_TIMEOUT_MS", int, 120000, "Time a message may take from produce() to acknowledgement, retries included (delivery.timeout.ms); a run waits at most this long for its last reports.", minimum=1, maximum=2_147_483_647),
    _s("KAFKA_MAX_IN_FLIGHT", int, 5, "Unacknowledged requests per broker connection (max.in.flight); at most 5 with idempotence.", minimum=1, maximum=1_000_000),
    _s("KAFKA_SEND_RETRIES", int, 3, "Extra attempts of a single-message send after a retriable error.", minimum=0, maximum=20),
    _s("KAFKA_SEND_BACKOFF_MS", int, 100, "First back-off of single-message retries; doubles each time (100 → 200 → 400 ms).", minimum=1, maximum=60000),
    # Connection.
    _s("KAFKA_CLIENT_ID", str, "pstt", "client.id sent to the brokers (visible in broker logs and quotas)."),
    _s("KAFKA_SOCKET_KEEPALIVE", bool, True, "TCP keep-alive on broker connections (socket.keepalive.enable)."),
    _s("KAFKA_SOCKET_TIMEOUT_MS", int, 60000, "Network request timeout (socket.timeout.ms).", minimum=10, maximum=300000),
    _s("KAFKA_SOCKET_CONNECTION_SETUP_TIMEOUT_MS", int, 30000, "Time to establish a broker connection, TLS and SASL included.", minimum=1000, maximum=2_147_483_647),
    _s("KAFKA_RECONNECT_BACKOFF_MS", int, 100, "First back-off before reconnecting to a broker (reconnect.backoff.ms).", minimum=0, maximum=3_600_000),
    _s("KAFKA_RECONNECT_BACKOFF_MAX_MS", int, 10000, "Largest reconnect back-off (reconnect.backoff.max.ms).", minimum=0, maximum=3_600_000),
    _s("KAFKA_METADATA_MAX_AGE_MS", int, 300000, "Metadata refresh interval (metadata.max.age.ms).", minimum=1, maximum=86_400_000),
    _s("KAFKA_TOPIC_METADATA_REFRESH_MS", int, 300000, "Periodic topic metadata refresh (topic.metadata.refresh.interval.ms).", minimum=-1, maximum=3_600_000),
    _s("KAFKA_SSL_ENDPOINT_IDENTIFICATION", "choice", "https", "Check the broker certificate's host name (https) or not (none).", choices=("https", "none")),
    _s("KAFKA_PARTITIONER", "choice", "consistent_random", "How keys map to partitions (librdkafka partitioner; murmur2_random matches the Java client).", choices=("random", "consistent", "consistent_random", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random")),
    _s("KAFKA_STATISTICS_INTERVAL_MS", int, 0, "librdkafka statistics interval; 0 disables (statistics.interval.ms).", minimum=0, maximum=86_400_000),
    # PSTT's own Kafka services.
    _s("KAFKA_HEALTH_CHECK_TIMEOUT_MS", int, 5000, "Timeout of one health-check metadata request.", minimum=100, maximum=120000),
    _s("KAFKA_TEST_TIMEOUT_MS", int, 10000, "Timeout of a connection test (settings page, `pstt kafka test`).", minimum=100, maximum=120000),
    _s("KAFKA_METRICS_RETENTION_DAYS", int, 30, "Hourly buckets in exports/kafka_metrics.json older than this are removed.", minimum=1, maximum=3650),
    _s("KAFKA_METRICS_FLUSH_INTERVAL_SEC", float, 30.0, "How often metrics are written to exports/kafka_metrics.json (also at run end and shutdown).", minimum=1, maximum=3600),
    _s("KAFKA_METRICS_LATENCY_SAMPLES", int, 1000, "Latency samples kept per hour × topic × connection for percentiles.", minimum=10, maximum=100000),
)

# KAFKA_* setting → librdkafka property.
_PROPERTIES = {
    "KAFKA_COMPRESSION_TYPE": "compression.type",
    "KAFKA_ACKS": "acks",
    "KAFKA_ENABLE_IDEMPOTENCE": "enable.idempotence",
    "KAFKA_LINGER_MS": "linger.ms",
    "KAFKA_BATCH_SIZE_BYTES": "batch.size",
    "KAFKA_BATCH_NUM_MESSAGES": "batch.num.messages",
    "KAFKA_QUEUE_BUFFERING_MAX_MESSAGES": "queue.buffering.max.messages",
    "KAFKA_QUEUE_BUFFERING_MAX_KBYTES": "queue.buffering.max.kbytes",
    "KAFKA_MESSAGE_MAX_BYTES": "message.max.bytes",
    "KAFKA_RETRIES": "retries",
    "KAFKA_RETRY_BACKOFF_MS": "retry.backoff.ms",
    "KAFKA_RETRY_BACKOFF_MAX_MS": "retry.backoff.max.ms",
    "KAFKA_REQUEST_TIMEOUT_MS": "request.timeout.ms",
    "KAFKA_DELIVERY_TIMEOUT_MS": "delivery.timeout.ms",
    "KAFKA_MAX_IN_FLIGHT": "max.in.flight.requests.per.connection",
    "KAFKA_CLIENT_ID": "client.id",
    "KAFKA_SOCKET_KEEPALIVE": "socket.keepalive.enable",
    "KAFKA_SOCKET_TIMEOUT_MS": "socket.timeout.ms",
    "KAFKA_SOCKET_CONNECTION_SETUP_TIMEOUT_MS": "socket.connection.setup.timeout.ms",
    "KAFKA_RECONNECT_BACKOFF_MS": "reconnect.backoff.ms",
    "KAFKA_RECONNECT_BACKOFF_MAX_MS": "reconnect.backoff.max.ms",
    "KAFKA_METADATA_MAX_AGE_MS": "metadata.max.age.ms",
    "KAFKA_TOPIC_METADATA_REFRESH_MS": "topic.metadata.refresh.interval.ms",
    "KAFKA_SSL_ENDPOINT_IDENTIFICATION": "ssl.endpoint.identification.algorithm",
    "KAFKA_PARTITIONER": "partitioner",
    "KAFKA_STATISTICS_INTERVAL_MS": "statistics.interval.ms",
}


def allowed(spec: Setting) -> str:
    """The values a setting accepts, for help and docs."""
    if spec.choices:
        extra = [f"{alias} (= {value})" for alias, value in spec.aliases.items()]
        return ", ".join([*spec.choices, *extra])
    if spec.type is bool:
        return "true, false"
    kind = "whole number" if spec.type is int else "number" if spec.type is float else "text"
    low = f"≥ {_number(spec.minimum)}" if spec.minimum is not None else ""
    high = f"≤ {_number(spec.maximum)}" if spec.maximum is not None else ""
    return " ".join(p for p in (kind, low, high) if p)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def setting(settings: Mapping[str, Any], name: str) -> Any:
    """A KAFKA_* value, falling back to its default (a facade built without this plugin)."""
    if name in settings:
        return settings[name]
    return next(s.default for s in KAFKA_SETTINGS if s.name == name)


def producer_properties(settings: Mapping[str, Any]) -> dict[str, Any]:
    """librdkafka producer properties from the KAFKA_* settings."""
    props: dict[str, Any] = {}
    for name, prop in _PROPERTIES.items():
        value = setting(settings, name)
        props[prop] = str(value).lower() if isinstance(value, bool) else value
    return props
