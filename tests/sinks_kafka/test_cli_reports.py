"""``pstt kafka test --json`` has the API's shape; a failed Kafka run says what was delivered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import HomeBuilder, free_port, pstt_process
from tests.sinks_kafka.conftest import fast_env, kafka_home, kafka_runtime

pytestmark = pytest.mark.kafka


def test_kafka_test_json_equals_the_api(home: HomeBuilder, kafka_broker: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    root = home.write()
    result = pstt_process(root, "kafka", "test", "local", "--json")
    assert result.returncode == 0, result.stderr
    cli = json.loads(result.stdout)
    pstt = home.pstt(environ={"PSTT_SCHEDULER_ENABLED": "false"}, logs=False)
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as client:
        api = client.post("/api/kafka/test", json={"connection": "local"}).json()
    assert set(cli) == set(api) == {"connection", "success", "brokers", "latency_ms", "error"}
    assert {k: v for k, v in cli.items() if k != "latency_ms"} == {
        k: v for k, v in api.items() if k != "latency_ms"}


def test_failed_run_says_rows_read_and_none_delivered(home: HomeBuilder, kafka_broker: Any,
                                                      topic: str) -> None:
    # Every message is larger than the producer's message.max.bytes: 40 rows read, none
    # delivered. (A cluster that does not answer fails the run before any row is read.)
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="k", sharing_mode="kafka",
                      query="SELECT id, hex(zeroblob(3000)) AS big FROM orders WHERE id <= 40",
                      sink_options={"connection": "local", "topic": topic})
    root = home.write()
    result = pstt_process(root, "run", "k", **fast_env(KAFKA_MESSAGE_MAX_BYTES="2000"))
    assert result.returncode == 1
    assert result.stdout.startswith("failed: 40 rows read, 0 delivered in "), result.stdout
    assert f"→ {topic}" in result.stdout


def test_a_cluster_that_refuses_fails_the_run_and_the_test_at_once(
        home: HomeBuilder, topic: str) -> None:
    kafka_home(home, f"127.0.0.1:{free_port()}")
    home.add_schedule(id="k", sharing_mode="kafka", query="SELECT * FROM orders WHERE id <= 40",
                      sink_options={"connection": "local", "topic": topic})
    root = home.write()
    result = pstt_process(root, "run", "k")  # default settings: KAFKA_TIMEOUT_MS 30 s
    assert result.returncode == 1
    assert result.stdout.startswith("failed: 0 rows read, 0 delivered in "), result.stdout
    seconds = float(result.stdout.split(" delivered in ")[1].split(" s")[0])
    assert seconds < 3, result.stdout
    record = json.loads(pstt_process(root, "history", "--json").stdout)["runs"][0]
    assert "Connection refused" in record["error"] and "nothing was produced" in record["error"]
    down = pstt_process(root, "kafka", "test", "local", "--json")
    assert down.returncode == 1
    report = json.loads(down.stdout)
    assert report["success"] is False and "Connection refused" in report["error"]
    assert float(report["error"].split(" after ")[1].split(" s")[0]) < 1.0, report["error"]


def test_a_reloaded_connections_json_reaches_the_kafka_service(
        home: HomeBuilder, kafka_broker: Any, make_pstt: Any) -> None:
    kafka_home(home, f"127.0.0.1:{free_port()}")
    pstt = make_pstt(home, **fast_env())
    assert kafka_runtime(pstt).gateway.test_connection_sync("local")["success"] is False
    old_producer = kafka_runtime(pstt).pool.producer("local")
    kafka_home(home, kafka_broker.bootstrap)
    home.connections["kafka_connections"].append(
        {"name": "second", "bootstrap_servers": [kafka_broker.bootstrap]})
    home.write()
    assert pstt.reload_config() is True
    assert [c["name"] for c in pstt.plugin_env("kafka").masked_section("kafka_connections")] \
        == ["local", "second"]  # the plugin's env shows the configuration in force
    rt = kafka_runtime(pstt)
    assert [c["name"] for c in rt.masked_connections()] == ["local", "second"]
    assert rt.gateway.test_connection_sync("local")["success"] is True
    assert rt.pool.producer("local") is not old_producer  # built from the new entry
