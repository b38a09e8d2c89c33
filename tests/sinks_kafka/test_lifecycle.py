"""The Kafka plugin's resources are owned by its runtime (an ``env.state`` resource): whatever
path opened producers — a run with or without ``start()``, the API, a health check, a metrics
scrape — ``Pstt.close()`` releases them: no poll thread and no librdkafka thread remains."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pstt_core import Pstt
from tests.conftest import HomeBuilder, wait_for
from tests.sinks_kafka.conftest import fast_env, kafka_home

pytestmark = pytest.mark.kafka
TASKS = Path("/proc/self/task")


def kafka_threads() -> list[str]:
    """PSTT's producer poll threads and librdkafka's native threads (``rdk:main`` …)."""
    names = [t.name for t in threading.enumerate() if t.name.startswith("pstt-kafka-")]
    if TASKS.is_dir():
        for task in TASKS.iterdir():
            try:
                comm = (task / "comm").read_text().strip()
            except OSError:  # the thread ended meanwhile
                continue
            if comm.startswith("rdk:"):
                names.append(comm)
    return sorted(names)


@pytest.fixture
def kafka_schedule(home: HomeBuilder, kafka_broker: Any, topic: str) -> HomeBuilder:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="kafka-schedule", sharing_mode="kafka",
                      query="SELECT * FROM orders WHERE id <= 20",
                      sink_options={"connection": "local", "topic": topic, "key_field": "id"})
    home.write()
    return home


def released(before: list[str]) -> list[str]:
    def back() -> bool:
        gc.collect()
        return kafka_threads() == before

    wait_for(back, timeout=15, what=f"Kafka threads back to {before}")
    return kafka_threads()


def test_context_manager_run_leaves_no_kafka_threads(kafka_schedule: HomeBuilder) -> None:
    before = kafka_threads()
    env = {"PSTT_SCHEDULER_ENABLED": "false", **fast_env()}
    with Pstt(kafka_schedule.root, environ=env, logs=False) as pstt:
        assert pstt.run("kafka-schedule").status == "success"
        assert len(kafka_threads()) > len(before)  # the run's producer is alive until close
    assert released(before) == before


def test_run_without_start_then_close_leaves_no_kafka_threads(
        kafka_schedule: HomeBuilder) -> None:
    before = kafka_threads()
    pstt = Pstt(kafka_schedule.root, environ=fast_env(), logs=False)
    record = pstt.run("kafka-schedule")
    assert record.status == "success" and record.extra["kafka_messages_sent"] == 20
    assert any(name.startswith("pstt-kafka-") for name in kafka_threads())
    pstt.close()
    assert released(before) == before
    # the metrics of the run were written when the runtime closed
    assert (kafka_schedule.root / "exports" / "kafka_metrics.json").is_file()


def test_api_health_and_scrape_without_start_are_released_by_close(
        kafka_schedule: HomeBuilder, topic: str) -> None:
    before = kafka_threads()
    pstt = Pstt(kafka_schedule.root, environ={"PSTT_SCHEDULER_ENABLED": "false", **fast_env()},
                logs=False)
    client = TestClient(pstt.asgi_app(), base_url="http://localhost")  # no `with`: the app's lifespan never starts pstt
    sent = client.post("/api/kafka/send", json={"connection": "local", "topic": topic,
                                                "value": {"n": 1}})
    assert sent.status_code == 200 and sent.json()["success"], sent.text
    assert "pstt_kafka_messages_total" in client.get("/metrics").text
    assert next(c for c in pstt.health()["checks"] if c["name"] == "kafka")["status"] == "healthy"
    assert not pstt.started and kafka_threads() != before
    pstt.close()
    assert released(before) == before
