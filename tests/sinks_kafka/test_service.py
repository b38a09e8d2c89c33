"""The Kafka gateway and runtime: single and batch publish, retries, health, metrics — on a real broker."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pstt_core import ConfigError, NotFoundError
from tests.conftest import HomeBuilder, free_port
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import fast_env, kafka_home, kafka_runtime

pytestmark = pytest.mark.kafka


@pytest.fixture
def service(home: HomeBuilder, kafka_broker: Any, make_pstt: Any) -> Any:
    kafka_home(home, kafka_broker.bootstrap)
    return kafka_runtime(make_pstt(home, **fast_env())).gateway


async def test_send_reports_partition_offset_and_arrives(service: Any, kafka_broker: Any,
                                                         topic: str) -> None:
    first = await service.send("local", topic, {"amount": 1.5, "who": "Müller"}, key="k1",
                               headers={"source": "pstt"})
    assert first["success"] and first["error"] is None
    assert first["topic"] == topic and first["partition"] >= 0 and first["offset"] >= 0
    assert first["latency_ms"] > 0
    second = await service.send("local", topic, "plain text", key=42)
    assert second["success"]
    msgs = consume_all(kafka_broker.bootstrap, topic, expected=2)
    by_key = {m.key(): m for m in msgs}
    assert json.loads(by_key[b"k1"].value()) == {"amount": 1.5, "who": "Müller"}
    assert by_key[b"k1"].headers() == [("source", b"pstt")]
    assert by_key[b"42"].value() == b"plain text"


async def test_send_rejects_bad_input(service: Any, topic: str) -> None:
    with pytest.raises(NotFoundError, match="unknown Kafka connection 'nope'"):
        await service.send("nope", topic, {"a": 1})
    with pytest.raises(ConfigError, match="contains ' '"):
        await service.send("local", "bad topic", {"a": 1})
    with pytest.raises(ConfigError, match="needs a value"):
        await service.send("local", topic, None)
    with pytest.raises(ConfigError, match=r"messages\[1\]"):
        await service.send_batch("local", topic, [{"value": 1}, {"key": "x"}])


async def test_send_batch_counts_every_report(service: Any, kafka_broker: Any, topic: str) -> None:
    messages = [{"key": f"k{i}", "value": {"i": i}} for i in range(250)]
    result = await service.send_batch("local", topic, messages, batch_size=100)
    assert result["total"] == 250 and result["sent"] == 250 and result["failed"] == 0
    assert result["success_rate"] == 100.0 and result["errors"] == []
    assert result["throughput_msg_s"] > 0 and result["duration_sec"] > 0
    got = {m.key().decode(): json.loads(m.value()) for m in
           consume_all(kafka_broker.bootstrap, topic, expected=250)}
    assert got == {f"k{i}": {"i": i} for i in range(250)}


async def test_single_send_retries_with_exponential_backoff(home: HomeBuilder, topic: str,
                                                            make_pstt: Any) -> None:
    kafka_home(home, f"127.0.0.1:{free_port()}")
    pstt = make_pstt(home, **fast_env(KAFKA_DELIVERY_TIMEOUT_MS="200", KAFKA_REQUEST_TIMEOUT_MS="150",
                                      KAFKA_SEND_RETRIES="3", KAFKA_SEND_BACKOFF_MS="100"))
    t0 = time.perf_counter()
    result = await kafka_runtime(pstt).gateway.send("local", topic, {"a": 1})
    elapsed = time.perf_counter() - t0
    assert result["success"] is False and result["attempts"] == 4
    assert "Message timed out" in result["error"]
    # 4 attempts of ~0.2 s each plus back-offs of 0.1 + 0.2 + 0.4 s.
    assert elapsed >= 0.7 + 4 * 0.2


async def test_health_healthy_degraded_and_unhealthy(home: HomeBuilder, kafka_broker: Any,
                                                     make_pstt: Any) -> None:
    dead = f"127.0.0.1:{free_port()}"
    home.connections["kafka_connections"] = [
        {"name": "good", "bootstrap_servers": [kafka_broker.bootstrap]},
        {"name": "dead", "bootstrap_servers": dead}]
    pstt = make_pstt(home, **fast_env(KAFKA_HEALTH_CHECK_TIMEOUT_MS="1000"))
    health = await kafka_runtime(pstt).gateway.health()
    assert health["status"] == "degraded"
    by_name = {c["name"]: c for c in health["connections"]}
    assert by_name["good"]["healthy"] and by_name["good"]["latency_ms"] > 0
    assert by_name["good"]["error"] is None
    assert not by_name["dead"]["healthy"]
    assert dead in by_name["dead"]["error"] and "Connection refused" in by_name["dead"]["error"]
    core = pstt.health()
    kafka = next(c for c in core["checks"] if c["name"] == "kafka")
    assert kafka["status"] == "degraded" and "dead:" in kafka["detail"]

    home.connections["kafka_connections"] = [{"name": "dead", "bootstrap_servers": dead}]
    alone = kafka_runtime(make_pstt(home, **fast_env(KAFKA_HEALTH_CHECK_TIMEOUT_MS="1000"))).gateway
    assert (await alone.health())["status"] == "unhealthy"


def test_not_configured_initialises_nothing(home: HomeBuilder, make_pstt: Any) -> None:
    home.add_schedule(id="f", sink_options={"filename": "x.csv"})
    pstt = make_pstt(home)
    assert pstt.run("f").status == "success"
    kafka = next(c for c in pstt.health()["checks"] if c["name"] == "kafka")
    assert kafka["status"] == "not_configured"
    assert not [r for r in pstt._resources.held() if r[0] == "kafka"]  # no runtime was made
    assert not (home.root / "exports" / "kafka_metrics.json").exists()


def test_metrics_file_agrees_with_what_was_sent(home: HomeBuilder, kafka_broker: Any, topic: str,
                                                make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="m", sharing_mode="kafka", query="SELECT * FROM orders WHERE id <= 120",
                      sink_options={"connection": "local", "topic": topic})
    pstt = make_pstt(home)
    path = home.root / "exports" / "kafka_metrics.json"
    assert not path.exists()
    first, second = pstt.run("m"), pstt.run("m")
    assert first.status == second.status == "success"
    data = json.loads(path.read_text())
    cells = [b for b in data["buckets"] if b["topic"] == topic]
    assert sum(c["messages"] for c in cells) == 240 == len(consume_all(
        kafka_broker.bootstrap, topic, expected=240))
    assert sum(c["failures"] for c in cells) == 0
    assert cells[0]["connection"] == "local"
    assert 2 * 64 <= cells[0]["latency_count"] <= 240  # sampled: 64 per run, then 1 in 8
    assert cells[0]["bytes"] > 240 * 50
    summary = kafka_runtime(pstt).metrics.summary(24)
    assert summary["messages"] == 240 and summary["topics"] == 1
    assert summary["latency_p50_ms"] <= summary["latency_p95_ms"] <= summary["latency_p99_ms"]
    topics = kafka_runtime(pstt).metrics.topics(24)
    assert topics[0]["topic"] == topic and topics[0]["messages"] == 240


def test_prometheus_collector(home: HomeBuilder, kafka_broker: Any, topic: str,
                              make_pstt: Any) -> None:
    from starlette.testclient import TestClient

    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="p", sharing_mode="kafka", query="SELECT * FROM orders WHERE id <= 7",
                      sink_options={"connection": "local", "topic": topic})
    pstt = make_pstt(home, PSTT_SCHEDULER_ENABLED="false")
    assert pstt.run("p").status == "success"
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as client:  # the scrape goes through the plugin's collector
        text = client.get("/metrics").text
    assert f'pstt_kafka_messages_total{{connection="local",topic="{topic}"}} 7.0' in text
    assert "pstt_kafka_failures_total" in text
    # Delivery latency: a histogram in seconds, 7 sampled deliveries; no reserved
    # "quantile" label on a gauge, no *_created series; the version as build info.
    labels = f'connection="local",topic="{topic}"'
    assert f'pstt_kafka_delivery_latency_seconds_count{{{labels}}} 7.0' in text
    bucket = 'pstt_kafka_delivery_latency_seconds_bucket{{connection="local",le="{}",topic="{}"}}'
    assert bucket.format("+Inf", topic) + " 7.0" in text
    assert bucket.format("30", topic) + " 7.0" in text
    assert "# TYPE pstt_kafka_delivery_latency_seconds histogram" in text
    assert 'quantile="' not in text
    assert "_created" not in text
    assert 'pstt_build_info{version="' in text
    assert 'pstt_schedule_last_success_timestamp_seconds{schedule="p"} ' in text


def test_cli_test_connections_and_bench(home: HomeBuilder, kafka_broker: Any, topic: str) -> None:
    from click.testing import CliRunner

    from pstt_core.cli import build_cli

    home.connections["kafka_connections"] = [
        {"name": "good", "bootstrap_servers": [kafka_broker.bootstrap]},
        {"name": "dead", "bootstrap_servers": [f"127.0.0.1:{free_port()}"]}]
    root = home.write()
    cli = build_cli()
    runner = CliRunner()
    ok = runner.invoke(cli, ["--home", str(root), "kafka", "test", "good"])
    assert ok.exit_code == 0, ok.output
    assert "ok: good answered in" in ok.output and kafka_broker.bootstrap in ok.output
    bad = runner.invoke(cli, ["--home", str(root), "kafka", "test", "dead", "--timeout-ms", "500"])
    assert bad.exit_code == 1 and "failed: dead" in bad.output
    listed = runner.invoke(cli, ["--home", str(root), "kafka", "connections"])
    assert listed.exit_code == 0 and "good" in listed.output and "dead" in listed.output
    for mode in ("single", "batch", "mixed"):
        bench = runner.invoke(cli, ["--home", str(root), "kafka", "bench", "--connection", "good",
                                    "--topic", topic, "--mode", mode, "--messages", "50",
                                    "--size", "64"])
        assert bench.exit_code == 0, bench.output
        assert "p50" in bench.output and "p99" in bench.output and "msg/s" in bench.output
    assert len(consume_all(kafka_broker.bootstrap, topic, expected=150)) == 150


async def test_shutdown_flushes_and_closes(home: HomeBuilder, kafka_broker: Any, topic: str,
                                           make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    pstt = make_pstt(home, PSTT_SCHEDULER_ENABLED="false")
    pstt.start()
    service = kafka_runtime(pstt)
    assert (await service.gateway.send("local", topic, {"n": 1}))["success"]
    handles = list(service.pool._producers.values())
    assert handles and not any(h.closed for h in handles)
    pstt.stop()
    assert kafka_runtime(pstt) is not service  # the stopped facade released it
    assert all(h.closed for h in handles)
    data = json.loads((home.root / "exports" / "kafka_metrics.json").read_text())
    assert data["totals"]["messages"] == 1
