"""Configuration, validation and settings of the Kafka plugin (no broker needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pstt_core import ConfigError
from pstt_sinks_kafka.models import KafkaConnectionConfig, topic_problem
from pstt_sinks_kafka.producer import producer_config
from pstt_sinks_kafka.settings import KAFKA_SETTINGS
from tests.conftest import HomeBuilder
from tests.sinks_kafka.conftest import kafka_home, kafka_runtime


@pytest.mark.parametrize("topic,reason", [
    ("", "non-empty"), (".", "cannot be '.'"), ("..", "cannot be '..'"),
    ("a" * 250, "250 characters long; Kafka allows at most 249"),
    ("orders 2026", "contains ' '"), ("ordini/è", "contains '/', 'è'"),
])
def test_bad_topics_are_refused_with_the_reason(topic: str, reason: str) -> None:
    problem = topic_problem(topic)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("topic", ["orders", "a" * 249, "pstt.orders_v2-eu", "_internal", "..."])
def test_good_topics(topic: str) -> None:
    assert topic_problem(topic) is None


def test_bad_topic_is_rejected_when_the_schedule_is_saved(home: HomeBuilder) -> None:
    kafka_home(home, "127.0.0.1:9092")
    pstt = home.pstt(environ={}, logs=False)
    base = {"id": "k", "name": "K", "connection": "demo", "query": "SELECT 1",
            "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "kafka"}
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule({**base, "kafka_connection": "local", "kafka_topic": "my topic"})
    assert "$.sink_options.topic" in str(err.value) and "contains ' '" in str(err.value)
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule({**base, "sink_options": {"connection": "prod", "topic": "t"}})
    assert "unknown Kafka connection 'prod'; configured: local" in str(err.value)
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule({**base, "sink_options": {"connection": "local", "topic": "t",
                                                       "batch_size": 0}})
    assert "batch_size" in str(err.value)
    saved = pstt.create_schedule({**base, "kafka_config": {"connection": "local", "topic": "ok"}})
    assert saved.sink_options["topic"] == "ok"
    stored = json.loads((home.root / "exports" / "schedules.json").read_text())["schedules"][-1]
    assert "kafka_config" not in stored and stored["sink_options"]["connection"] == "local"


def test_connection_validation_names_the_json_path(home: HomeBuilder) -> None:
    kafka_home(home, "127.0.0.1:9092", security_protocol="KERBEROS")
    with pytest.raises(ConfigError) as err:
        home.pstt(environ={}, logs=False)
    assert "$.kafka_connections[0].security_protocol" in str(err.value)
    assert "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL" in str(err.value)

    kafka_home(home, "127.0.0.1:9092", security_protocol="SASL_PLAINTEXT", sasl_mechanism="GSSAPI",
               sasl_username="u", sasl_password="p")
    with pytest.raises(ConfigError, match="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"):
        home.pstt(environ={}, logs=False)

    kafka_home(home, "kafka1:9092,kafka2", security_protocol="PLAINTEXT")
    with pytest.raises(ConfigError, match="'kafka2' is not host:port"):
        home.pstt(environ={}, logs=False)


def test_release_notes_example_parses_and_masks(home: HomeBuilder, tmp_path: Path) -> None:
    for name in ("ca.pem", "client.pem", "client-key.pem"):
        (tmp_path / name).write_text("x")
    home.connections["kafka_connections"] = [
        {"name": "kafka-dev", "display_name": "Kafka Development",
         "bootstrap_servers": ["localhost:9092"], "security_protocol": "PLAINTEXT",
         "description": "Kafka development cluster"},
        {"name": "kafka-prod", "display_name": "Kafka Production",
         "bootstrap_servers": "kafka1.prod:9093, kafka2.prod:9093",
         "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
         "sasl_username": "pstt_user", "sasl_password": "${KAFKA_PROD_PASSWORD}",
         "ssl_cafile": str(tmp_path / "ca.pem"), "ssl_certfile": str(tmp_path / "client.pem"),
         "ssl_keyfile": str(tmp_path / "client-key.pem"), "acks": "-1", "linger_ms": 20}]
    pstt = home.pstt(environ={"KAFKA_PROD_PASSWORD": "hunter2", "KAFKA_LINGER_MS": "5"}, logs=False)
    prod = pstt.config.section("kafka_connections")["kafka-prod"]
    assert prod.bootstrap_servers == ["kafka1.prod:9093", "kafka2.prod:9093"]
    assert prod.sasl_password == "hunter2" and prod.acks == "all"
    masked = kafka_runtime(pstt).masked_connections()
    assert [m["name"] for m in masked] == ["kafka-dev", "kafka-prod"]
    assert masked[1]["sasl_password"] == "********" and "hunter2" not in json.dumps(masked)
    conf = producer_config(prod, pstt.settings)
    assert conf["bootstrap.servers"] == "kafka1.prod:9093,kafka2.prod:9093"
    assert conf["security.protocol"] == "sasl_ssl" and conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["ssl.ca.location"].endswith("ca.pem")
    assert conf["linger.ms"] == 20  # the connection overrides KAFKA_LINGER_MS
    assert conf["compression.type"] == "snappy" and conf["enable.idempotence"] == "true"
    pstt.close()


def test_thirty_six_settings_with_defaults_and_validation(home: HomeBuilder) -> None:
    assert len(KAFKA_SETTINGS) == 36
    assert all(s.name.startswith("KAFKA_") and s.description and s.group == "kafka"
               for s in KAFKA_SETTINGS)
    pstt = home.pstt(environ={"KAFKA_ACKS": "-1"}, logs=False)
    s = pstt.settings
    assert (s["KAFKA_TIMEOUT_MS"], s["KAFKA_BATCH_SIZE"], s["KAFKA_SUCCESS_THRESHOLD"],
            s["KAFKA_COMPRESSION_TYPE"], s["KAFKA_ACKS"], s["KAFKA_ENABLE_IDEMPOTENCE"]) == (
        30000, 100, 95.0, "snappy", "all", True)
    assert s["KAFKA_METRICS_RETENTION_DAYS"] == 30 and s["KAFKA_SEND_RETRIES"] == 3
    assert s["KAFKA_SEND_BACKOFF_MS"] == 100
    with pytest.raises(ConfigError) as err:
        home.pstt(environ={"KAFKA_COMPRESSION_TYPE": "brotli"}, logs=False)
    assert "KAFKA_COMPRESSION_TYPE" in str(err.value) and "none, gzip, snappy, lz4, zstd" in str(err.value)
    with pytest.raises(ConfigError, match="KAFKA_SUCCESS_THRESHOLD.*above the maximum 100"):
        home.pstt(environ={"KAFKA_SUCCESS_THRESHOLD": "101"}, logs=False)
    with pytest.raises(ConfigError, match="KAFKA_ACKS.*all, 1, 0"):
        home.pstt(environ={"KAFKA_ACKS": "2"}, logs=False)


def test_every_setting_reaches_a_valid_librdkafka_config() -> None:
    """librdkafka itself accepts the producer config built from the defaults."""
    from confluent_kafka import Producer

    conn = KafkaConnectionConfig(name="x", bootstrap_servers=["127.0.0.1:1"])
    Producer(producer_config(conn, {}))  # raises KafkaException on an unknown/invalid property


def test_plugin_imports_without_confluent_kafka(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['confluent_kafka'] = None\n"
        "import importlib.util as u; real = u.find_spec\n"
        "u.find_spec = lambda n, *a: None if n == 'confluent_kafka' else real(n, *a)\n"
        "import pstt_sinks_kafka as k\n"
        "print(k.SINK.available, k.SINK.unavailable_reason)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ('False missing Python module(s) confluent_kafka; install with: '
                                  'pip install "pstt[kafka]"')


def test_option_schema_for_forms() -> None:
    import pstt_sinks_kafka
    from pstt_core.web.forms import sink_schema

    described = sink_schema(pstt_sinks_kafka.SINK)
    names = [o["name"] for o in described["options"]]
    assert names[:5] == ["connection", "topic", "key_field", "batch_size", "include_metadata"]
    assert described["history_fields"] == ["kafka_topic", "kafka_messages_sent",
                                           "kafka_messages_failed", "kafka_duration_sec"]




def test_settings_command_prints_the_docs_table(home: HomeBuilder) -> None:
    from click.testing import CliRunner

    from pstt_core.cli import build_cli

    root = home.write()
    out = CliRunner().invoke(build_cli(), ["--home", str(root), "kafka", "settings", "--markdown"])
    assert out.exit_code == 0, out.output
    rows = [line for line in out.output.splitlines() if line.startswith("| `KAFKA_")]
    assert len(rows) == 36
    assert "| `KAFKA_ACKS` | `all` | all, 1, 0, -1 (= all) |" in out.output
    assert "`KAFKA_SUCCESS_THRESHOLD` | `95.0` | number ≥ 0 ≤ 100 |" in out.output
    plain = CliRunner().invoke(build_cli(), ["--home", str(root), "kafka", "settings"],
                               env={"KAFKA_LINGER_MS": "20"})
    assert plain.exit_code == 0 and "KAFKA_LINGER_MS" in plain.output
