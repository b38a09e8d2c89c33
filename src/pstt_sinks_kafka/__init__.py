"""Sharing mode ``kafka`` (R20260121): schedules publish rows to Apache Kafka topics.

A PSTT plugin: it reaches the core only through hooks. ``confluent_kafka`` is imported
lazily, so without it the sink is listed as unavailable with its install hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pstt_core import ConfigError, ConfigSection, HealthCheck, HealthResult, SinkType, hookimpl

from .models import (
    SECRET_FIELDS,
    KafkaConnectionConfig,
    KafkaExportConfig,
    validate_connection,
    validate_topic,
)
from .settings import KAFKA_SETTINGS
from .web_hooks import (  # noqa: F401
    register_nav_links,
    register_routes,
    register_static_dirs,
    register_template_dirs,
)

SECTION = "kafka_connections"


def _validate_export(options: KafkaExportConfig, pstt: Any) -> None:
    validate_topic(options.topic, "topic")
    names = pstt.config.section(SECTION)
    if options.connection not in names:
        known = ", ".join(sorted(names)) or "none (add a kafka_connections section to connections.json)"
        raise ConfigError(f"unknown Kafka connection {options.connection!r}; configured: {known}",
                          path="connection")
    if options.batch_size is not None and options.batch_size < 1:
        raise ConfigError("must be at least 1 (or omitted for KAFKA_BATCH_SIZE)", path="batch_size")
    if options.key_field is not None and not options.key_field.strip():
        options.key_field = None
    from .models import COMPRESSIONS

    if options.compression_type is not None and options.compression_type not in COMPRESSIONS:
        raise ConfigError(f"{options.compression_type!r} is not allowed; use one of "
                          + ", ".join(COMPRESSIONS), path="compression_type")


def _sink_factory(ctx: Any) -> Any:
    from .sink import KafkaSink

    return KafkaSink(ctx)


SINK = SinkType(
    name="kafka",
    label="Kafka",
    options=KafkaExportConfig,
    factory=_sink_factory,
    description="Publishes every row as a JSON message to an Apache Kafka topic.",
    requires=("confluent_kafka",),
    install_hint='pip install "pstt[kafka]"',
    legacy_keys={"kafka_connection": "connection", "kafka_topic": "topic",
                 "kafka_key_field": "key_field", "kafka_batch_size": "batch_size",
                 "kafka_include_metadata": "include_metadata"},
    legacy_object="kafka_config",
    validate=_validate_export,
    history_fields=("kafka_topic", "kafka_messages_sent", "kafka_messages_failed",
                    "kafka_duration_sec"),
)


def _test(pstt: Any, name: str) -> dict[str, Any]:
    from .runtime import get_service

    result = get_service(pstt).test_connection_sync(name)
    return {"name": name, **result}


@hookimpl
def register_sinks(register: Callable[[Any], None]) -> None:
    register(SINK)


@hookimpl
def register_settings(register: Callable[[Any], None]) -> None:
    for item in KAFKA_SETTINGS:
        register(item)


@hookimpl
def register_config_sections(register: Callable[[Any], None]) -> None:
    register(ConfigSection(SECTION, KafkaConnectionConfig, secret_fields=SECRET_FIELDS,
                           description="Kafka clusters schedules can publish to",
                           validate=validate_connection, test=_test, label="Kafka clusters"))


def _health(pstt: Any) -> HealthResult:
    if not pstt.config.section(SECTION):
        return HealthResult("not_configured", "no kafka_connections in connections.json")
    if not SINK.available:
        return HealthResult("unhealthy", SINK.unavailable_reason or "confluent-kafka missing")
    from .runtime import get_service

    data = get_service(pstt).health_sync()
    bad = [c for c in data["connections"] if not c["healthy"]]
    detail = "; ".join(f"{c['name']}: {c['error']}" for c in bad) or \
        f"{len(data['connections'])} cluster(s) reachable"
    return HealthResult(data["status"], detail, data)


@hookimpl
def register_health_checks(register: Callable[[Any], None]) -> None:
    register(HealthCheck("kafka", _health, "Each Kafka cluster answers a metadata request"))


@hookimpl
def register_metrics(register: Callable[[Any], None], pstt: Any) -> None:
    from .prometheus import KafkaCollector

    register(KafkaCollector(pstt))


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import kafka

    cli.add_command(kafka)


@hookimpl
def pstt_startup(pstt: Any) -> None:
    """A damaged ``kafka_metrics.json`` stops the start with an error naming it, instead of
    being reset by the first run (``pstt state repair`` moves it aside)."""
    if pstt.config.section("kafka_connections"):
        from .metrics import load_document

        load_document(pstt.home.exports / "kafka_metrics.json")


@hookimpl
def pstt_shutdown(pstt: Any) -> None:
    from .runtime import close_service

    close_service(pstt)
