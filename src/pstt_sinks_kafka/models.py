"""Kafka models: connections (``kafka_connections``), producer and export options, results."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

import attrs

from pstt_core import ConfigError, ListFromText, RunInfo

SECTION = "kafka_connections"  # the connections.json section this plugin claims

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
ACKS = ("all", "1", "0")
_ACK_ALIASES = {"-1": "all", "all": "all", "1": "1", "0": "0"}
TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def canonical_acks(value: Any) -> str:
    """``-1``/``all`` → ``all``; ``1`` and ``0`` unchanged; anything else is refused."""
    text = str(value).strip().lower()
    if text not in _ACK_ALIASES:
        raise ValueError(f"acks {value!r} is not allowed; use all (or -1), 1 or 0")
    return _ACK_ALIASES[text]


def topic_problem(topic: Any) -> str | None:
    """Why ``topic`` is not a valid Kafka topic name, or ``None`` when it is."""
    if not isinstance(topic, str) or not topic:
        return "the topic must be a non-empty string"
    if len(topic) > 249:
        return f"the topic is {len(topic)} characters long; Kafka allows at most 249"
    if topic in (".", ".."):
        return f"the topic cannot be {topic!r}"
    if not TOPIC_RE.fullmatch(topic):
        bad = sorted({c for c in topic if not re.match(r"[A-Za-z0-9._-]", c)})
        shown = ", ".join(repr(c) for c in bad)
        return (f"the topic {topic!r} contains {shown}; only letters, digits, '.', '_' and '-' "
                "are allowed")
    return None


def validate_topic(topic: Any, path: str = "topic") -> str:
    problem = topic_problem(topic)
    if problem:
        raise ConfigError(problem, path=path)
    return str(topic)


def _comma_list(value: Any) -> list[str]:
    """A list of names (host:port, metadata keys), from a list or a comma-separated string
    (or both)."""
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


@attrs.define
class KafkaProducerConfig:
    """Producer settings. ``None`` means "take the KAFKA_* setting"."""

    acks: str | None = attrs.field(default=None, converter=attrs.converters.optional(canonical_acks))
    compression_type: str | None = None
    enable_idempotence: bool | None = None
    linger_ms: int | None = None
    batch_size_bytes: int | None = None
    batch_num_messages: int | None = None
    retries: int | None = None
    retry_backoff_ms: int | None = None
    request_timeout_ms: int | None = None
    delivery_timeout_ms: int | None = None
    max_in_flight: int | None = None
    message_max_bytes: int | None = None
    client_id: str | None = None
    # Raw librdkafka properties for anything not modelled (applied last).
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class KafkaConnectionConfig:
    """One entry of ``connections.json`` → ``kafka_connections``."""

    name: str
    # a list of host:port, or one comma-separated string
    bootstrap_servers: Annotated[list[str], ListFromText(_comma_list)] = attrs.field(
        converter=_comma_list)
    display_name: str | None = None
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = attrs.field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = attrs.field(default=None, repr=False)
    ssl_check_hostname: bool | None = None
    description: str | None = None
    producer: KafkaProducerConfig = attrs.field(factory=KafkaProducerConfig)
    # Per-connection overrides also accepted flat, as in the release notes' examples.
    acks: str | None = attrs.field(default=None, converter=attrs.converters.optional(canonical_acks))
    compression_type: str | None = None
    enable_idempotence: bool | None = None
    linger_ms: int | None = None
    client_id: str | None = None


SECRET_FIELDS = ("sasl_password", "ssl_key_password")


def validate_connection(conn: KafkaConnectionConfig, file: str, path: str) -> None:
    """Cross-field rules of one ``kafka_connections`` entry; errors name the JSON path."""
    def fail(field: str, message: str) -> ConfigError:
        return ConfigError(message, file=file, path=f"{path}.{field}")

    if not conn.bootstrap_servers:
        raise fail("bootstrap_servers", "needs at least one host:port")
    for server in conn.bootstrap_servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise fail("bootstrap_servers", f"{server!r} is not host:port")
    proto = conn.security_protocol.upper()
    if proto not in SECURITY_PROTOCOLS:
        raise fail("security_protocol", f"{conn.security_protocol!r} is not allowed; use one of "
                   + ", ".join(SECURITY_PROTOCOLS))
    conn.security_protocol = proto
    if proto.startswith("SASL"):
        mech = (conn.sasl_mechanism or "").upper()
        if mech not in SASL_MECHANISMS:
            raise fail("sasl_mechanism", f"{proto} needs sasl_mechanism, one of "
                       + ", ".join(SASL_MECHANISMS) + f" (got {conn.sasl_mechanism!r})")
        conn.sasl_mechanism = mech
        if not conn.sasl_username:
            raise fail("sasl_username", f"{proto} needs sasl_username")
        if not conn.sasl_password:
            raise fail("sasl_password", f"{proto} needs sasl_password (e.g. \"${{KAFKA_PASSWORD}}\")")
    for field in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value = getattr(conn, field)
        if value and not os.path.isfile(value):
            raise fail(field, f"file {value!r} does not exist")
    if bool(conn.ssl_certfile) != bool(conn.ssl_keyfile):
        raise fail("ssl_keyfile" if conn.ssl_certfile else "ssl_certfile",
                   "ssl_certfile and ssl_keyfile go together (client certificate and its key)")
    for field in ("compression_type",):
        for owner, where in ((conn, field), (conn.producer, f"producer.{field}")):
            value = getattr(owner, field)
            if value is not None and value not in COMPRESSIONS:
                raise fail(where, f"{value!r} is not allowed; use one of " + ", ".join(COMPRESSIONS))


@attrs.define
class KafkaExportConfig:
    """``sink_options`` of sharing mode ``kafka`` (legacy: ``kafka_*`` / ``kafka_config``)."""

    connection: str = attrs.field(metadata={"label": "Kafka connection", "choices_from": SECTION,
                                            "help": "A name from kafka_connections"})
    topic: str = attrs.field(metadata={"label": "Topic",
                                       "help": "1-249 characters of letters, digits, '.', '_', '-'"})
    key_field: str | None = attrs.field(default=None, metadata={
        "label": "Key field", "help": "Column whose value becomes the message key (optional)"})
    batch_size: int | None = attrs.field(default=None, metadata={
        "label": "Batch size", "help": "Messages per chunk (default KAFKA_BATCH_SIZE)"})
    include_metadata: bool = attrs.field(default=False, metadata={
        "label": "Include metadata",
        "help": "Wrap each row as {data, metadata{…}} with the chosen Metadata fields"})
    metadata_fields: Annotated[list[str], ListFromText(_comma_list)] = attrs.field(
        factory=lambda: list(RunInfo.METADATA_FIELDS), metadata={
            "label": "Metadata fields", "widget": "list",
            "help": "With Include metadata: which of " + ", ".join(RunInfo.METADATA_FIELDS)
                    + " each message carries, one per line. source_query repeats the whole "
                      "SQL text in every message"})
    headers: dict[str, str] = attrs.field(factory=dict, metadata={
        "advanced": True, "help": "Headers added to every message"})
    compression_type: str | None = attrs.field(default=None, metadata={
        "advanced": True, "choices": COMPRESSIONS, "help": "Override the connection's compression"})
    delivery: str = attrs.field(default="idempotent", metadata={
        "label": "Delivery", "choices": ("idempotent", "transactional"), "widget": "select",
        "help": "idempotent: at least once, rows visible as they are sent; transactional: one "
                "Kafka transaction per run, committed after the last row (consumers need "
                "isolation.level=read_committed)"})
    dead_letter: dict[str, Any] | None = attrs.field(default=None, metadata={
        "advanced": True,
        "help": 'Keep undelivered messages: {"file": true} (exports/dead_letter/<schedule>/'
                '<export_id>.jsonl) or {"topic": "orders.dlq", "connection": "…"}'})


@attrs.define
class BatchResult:
    total: int = 0
    sent: int = 0
    failed: int = 0
    duration_sec: float = 0.0
    errors: list[str] = attrs.field(factory=list)

    @property
    def success_rate(self) -> float:
        return 100.0 if self.total == 0 else round(100.0 * self.sent / self.total, 2)

    def to_dict(self) -> dict[str, Any]:
        rate = self.sent / self.duration_sec if self.duration_sec > 0 else 0.0
        return {"total": self.total, "sent": self.sent, "failed": self.failed,
                "success_rate": self.success_rate, "duration_sec": round(self.duration_sec, 4),
                "throughput_msg_s": round(rate, 1), "errors": self.errors}
