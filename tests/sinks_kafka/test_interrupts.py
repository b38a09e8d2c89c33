"""SIGTERM, SIGINT and SIGKILL of real ``pstt run`` / ``pstt serve`` processes during a
1M-row Kafka export: one ``interrupted`` record per run, and after SIGTERM / SIGINT its
``kafka_messages_sent`` is what a consumer reads from the topic."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HomeBuilder, free_port, pstt_process, wait_for
from tests.kafka_broker import consume_all
from tests.processes import (
    counting_query,
    history,
    interrupt,
    journal_running,
    start_run,
)
from tests.sinks_kafka.conftest import kafka_home

ROWS = 1_000_000
pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _home(home: HomeBuilder, broker: Any, topic: str) -> Path:
    kafka_home(home, broker.bootstrap)
    home.add_schedule(id="big", query=counting_query(ROWS), batch_size=5000,
                      sharing_mode="kafka",
                      sink_options={"connection": "local", "topic": topic, "key_field": "id"})
    return home.write()


def _delivering(root: Path) -> dict[str, Any] | None:
    running = journal_running(root, min_rows=1)
    return running if running and running.get("kafka_messages_sent", 0) > 0 else None


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_settles_the_producer_and_counts_every_message(
        home: HomeBuilder, kafka_broker: Any, topic: str, command: str,
        sig: signal.Signals) -> None:
    root = _home(home, kafka_broker, topic)
    proc = start_run(root, "big", command, free_port())
    wait_for(lambda: _delivering(root), 60, what="the first confirmed deliveries", proc=proc)
    record = interrupt(proc, root, sig)
    assert record["kafka_messages_failed"] == 0
    assert 0 < record["kafka_messages_sent"] < ROWS
    consumed = consume_all(kafka_broker.bootstrap, topic, timeout=60)  # until 2 s of silence
    assert len(consumed) == record["kafka_messages_sent"] == record["rows"]


@pytest.mark.parametrize("command", ["run", "serve"])
def test_sigkill_is_recorded_with_what_was_confirmed(home: HomeBuilder, kafka_broker: Any,
                                                     topic: str, command: str) -> None:
    root = _home(home, kafka_broker, topic)
    proc = start_run(root, "big", command, free_port())
    wait_for(lambda: _delivering(root), 60, what="the first confirmed deliveries", proc=proc)
    proc.kill()
    proc.wait(timeout=30)
    assert [r for r in history(root) if r["schedule_id"] == "big"] == []

    check = pstt_process(root, "check", "--offline")
    assert "recovered run" in check.stdout, check.stdout + check.stderr
    runs = [r for r in history(root) if r["schedule_id"] == "big"]
    assert len(runs) == 1
    record = runs[0]
    assert record["status"] == "interrupted"
    assert record["error"].startswith("process ended during the run")
    # the checkpoint's count is a lower bound: never more than the topic holds
    on_topic = len(consume_all(kafka_broker.bootstrap, topic, timeout=60))
    assert 0 < record["kafka_messages_sent"] <= on_topic
