"""Sharing mode ``kafka`` (R20260121): schedules publish rows to Apache Kafka topics.

A PSTT plugin: it reaches the core only through hooks and the ``PluginEnv`` they hand it.
``confluent_kafka`` is imported lazily, so without it the sink is listed as unavailable with
its install hint. Producers live in the plugin's runtime (an ``env.state`` resource), made on
first use and closed by ``Pstt.close()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pstt_core import (
    ConfigError,
    ConfigSection,
    HealthCheck,
    HealthResult,
    PluginEnv,
    RunInfo,
    Setting,
    Sink,
    SinkContext,
    SinkType,
    StateFile,
    hookimpl,
)

from .metrics import validate_document
from .models import (
    COMPRESSIONS,
    SECRET_FIELDS,
    SECTION,
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

if TYPE_CHECKING:
    import click
    from prometheus_client.registry import Collector


def _validate_export(options: KafkaExportConfig, env: PluginEnv) -> None:
    validate_topic(options.topic, "topic")
    names = env.section(SECTION)
    if options.connection not in names:
        known = ", ".join(sorted(names)) or "none (add a kafka_connections section to connections.json)"
        raise ConfigError(f"unknown Kafka connection {options.connection!r}; configured: {known}",
                          path="connection")
    if options.batch_size is not None and options.batch_size < 1:
        raise ConfigError("must be at least 1 (or omitted for KAFKA_BATCH_SIZE)", path="batch_size")
    if options.key_field is not None and not options.key_field.strip():
        options.key_field = None
    if options.compression_type is not None and options.compression_type not in COMPRESSIONS:
        raise ConfigError(f"{options.compression_type!r} is not allowed; use one of "
                          + ", ".join(COMPRESSIONS), path="compression_type")
    _check_metadata_fields(options.metadata_fields, options.include_metadata)
    from .deadletter import validate as validate_dead_letter

    validate_dead_letter(options.dead_letter, names)
    if options.delivery not in ("idempotent", "transactional"):
        raise ConfigError("must be idempotent or transactional", path="delivery")
    if options.delivery == "transactional" and options.dead_letter:
        raise ConfigError("cannot be combined with delivery: transactional (a message that "
                          "fails aborts the whole run's transaction)", path="dead_letter")


def _check_metadata_fields(fields: list[str], included: bool) -> None:
    known = RunInfo.METADATA_FIELDS
    for i, name in enumerate(fields):
        if name not in known:
            raise ConfigError(f"unknown metadata field {name!r}; use any of {', '.join(known)}",
                              path=f"metadata_fields[{i}]")
        if name in fields[:i]:
            raise ConfigError(f"{name!r} is listed twice", path=f"metadata_fields[{i}]")
    if included and not fields:
        raise ConfigError("name at least one of " + ", ".join(known)
                          + " (or turn include_metadata off)", path="metadata_fields")


def _streams_rows(options: KafkaExportConfig) -> str | None:
    """Rows are visible as they are read, unless the run is one transaction (result gates)."""
    if options.delivery == "transactional":
        return None
    return ("the Kafka sharing mode publishes each row as it is read, before the row count is "
            'known; use sink_options.delivery "transactional" (checked before the commit) — '
            "on_empty is checked either way, since an empty result publishes nothing")


def _sink_factory(ctx: SinkContext) -> Sink:
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
                 "kafka_include_metadata": "include_metadata",
                 "kafka_metadata_fields": "metadata_fields"},
    legacy_object="kafka_config",
    validate=_validate_export,
    streams_rows=_streams_rows,
    history_fields=("kafka_topic", "kafka_messages_sent", "kafka_messages_failed",
                    "kafka_duration_sec"),
)


def _test(env: PluginEnv, name: str) -> dict[str, Any]:
    from .runtime import runtime

    result = runtime(env).gateway.test_connection_sync(name)
    return {"name": name, **result}


@hookimpl
def register_sinks(register: Callable[[SinkType], None]) -> None:
    register(SINK)


@hookimpl
def register_settings(register: Callable[[Setting], None]) -> None:
    for item in KAFKA_SETTINGS:
        register(item)


@hookimpl
def register_config_sections(register: Callable[[ConfigSection], None]) -> None:
    register(ConfigSection(SECTION, KafkaConnectionConfig, secret_fields=SECRET_FIELDS,
                           description="Kafka clusters schedules can publish to",
                           validate=validate_connection, test=_test, label="Kafka clusters"))


@hookimpl
def register_state_file(register: Callable[[StateFile], None]) -> None:
    # SPEC §2: the metrics keep their 1.1 file name and shape. A damaged file stops the start
    # with an error naming it, instead of being reset by the first run.
    register(StateFile("kafka_metrics.json", "Kafka metrics: hourly buckets per topic and "
                                             "connection, totals", validate=validate_document))


def _health(env: PluginEnv) -> HealthResult:
    if not env.section(SECTION):
        return HealthResult("not_configured", "no kafka_connections in connections.json")
    if not SINK.available:
        return HealthResult("unhealthy", SINK.unavailable_reason or "confluent-kafka missing")
    from .runtime import runtime

    data = runtime(env).gateway.health_sync()
    bad = [c for c in data["connections"] if not c["healthy"]]
    detail = "; ".join(f"{c['name']}: {c['error']}" for c in bad) or \
        f"{len(data['connections'])} cluster(s) reachable, last runs delivered"
    return HealthResult(data["status"], detail, data)


@hookimpl
def register_health_checks(register: Callable[[HealthCheck], None]) -> None:
    register(HealthCheck("kafka", _health, "Each Kafka cluster answers a metadata request, "
                                           "its producer is usable and its last run did not fail"))


@hookimpl
def register_metrics(register: Callable[[Collector], None], env: PluginEnv) -> None:
    from .prometheus import KafkaCollector

    register(KafkaCollector(env))


@hookimpl
def register_commands(cli: click.Group, get_env: Callable[[], PluginEnv]) -> None:
    from .cli import kafka_group

    cli.add_command(kafka_group(get_env))
