"""Faults reported truthfully: unreachable broker, refused messages, broker killed mid-run."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from typing import Any

import pytest

from tests.conftest import HomeBuilder, free_port
from tests.kafka_broker import consume_all, start_broker
from tests.sinks_kafka.conftest import fast_env, kafka_home

pytestmark = pytest.mark.kafka


def test_unreachable_broker_fails_with_counts_and_scheduler_keeps_running(
        home: HomeBuilder, topic: str, make_pstt: Any) -> None:
    kafka_home(home, f"127.0.0.1:{free_port()}")
    home.add_schedule(id="k", sharing_mode="kafka", query="SELECT * FROM orders WHERE id <= 40",
                      sink_options={"connection": "local", "topic": topic})
    home.add_schedule(id="files", sink_options={"filename": "after.csv"})
    pstt = make_pstt(home, **fast_env(PSTT_SCHEDULER_ENABLED="true"))
    pstt.start()
    try:
        record = pstt.run("k")
        assert record.status == "failed"
        # The cluster is checked before producing: it fails at once, nothing is produced.
        assert record.rows == 0 and record.duration_sec < 3
        assert record.extra["kafka_messages_sent"] == 0
        assert record.extra["kafka_messages_failed"] == 0
        assert "is unavailable" in record.error and "nothing was produced" in record.error
        assert "Connection refused" in record.error
        assert pstt.scheduler.running
        assert pstt.run("files").status == "success"
        stored = pstt.history.get(record.export_id)
        assert stored["status"] == "failed" and stored["kafka_messages_failed"] == 0
    finally:
        pstt.stop()


THRESHOLD_QUERY = ("SELECT id, CASE WHEN id % {every} = 0 THEN hex(zeroblob(3000)) ELSE note END "
                   "AS note FROM orders")


@pytest.mark.parametrize("every,threshold,status", [(50, "95", "partial"), (10, "95", "failed"),
                                                    (10, "85", "partial"), (1000, "95", "success")])
def test_success_threshold(home: HomeBuilder, kafka_broker: Any, topic: str, make_pstt: Any,
                           every: int, threshold: str, status: str) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="t", sharing_mode="kafka", query=THRESHOLD_QUERY.format(every=every),
                      sink_options={"connection": "local", "topic": topic, "key_field": "id"})
    pstt = make_pstt(home, KAFKA_MESSAGE_MAX_BYTES="2000", KAFKA_SUCCESS_THRESHOLD=threshold)
    record = pstt.run("t")
    too_big = 500 // every
    assert record.status == status, record.error
    assert record.extra["kafka_messages_sent"] == 500 - too_big
    assert record.extra["kafka_messages_failed"] == too_big
    if too_big:
        assert "too large" in record.error.lower()
        assert f"{too_big} of 500 message(s) not delivered" in record.error
    else:
        assert record.error is None
    keys = {int(m.key()) for m in consume_all(kafka_broker.bootstrap, topic,
                                               expected=500 - too_big)}
    assert keys == {i for i in range(1, 501) if i % every}


def _big_table(home: HomeBuilder, rows: int) -> None:
    con = sqlite3.connect(home.root / "demo.db")
    con.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT)")
    con.executemany("INSERT INTO events VALUES (?, ?)",
                    ((i, f"event {i} " + "x" * 100) for i in range(1, rows + 1)))
    con.commit()
    con.close()


@pytest.mark.slow
def test_broker_killed_mid_export_reports_no_more_than_the_topic_holds(
        home: HomeBuilder, dedicated_broker: Any, s3_storage: dict[str, str], topic: str,
        make_pstt: Any, tmp_path: Any) -> None:
    rows = 20_000
    _big_table(home, rows)
    broker = dedicated_broker(storage="s3://tansu/", env=s3_storage)
    kafka_home(home, broker.bootstrap)
    home.add_schedule(id="big", sharing_mode="kafka", batch_size=500,
                      query="SELECT * FROM events ORDER BY id",
                      sink_options={"connection": "local", "topic": topic, "key_field": "id"})
    pstt = make_pstt(home, **fast_env())
    killed: list[int] = []

    def progress(done: int) -> None:
        if done >= 5000 and not killed:
            # Let the broker store (and acknowledge) a part of the export, then kill it.
            consume_all(broker.bootstrap, topic, expected=1000, timeout=20)
            time.sleep(0.5)
            os.kill(broker.process.pid, signal.SIGKILL)
            broker.process.wait(timeout=10)
            killed.append(done)

    record = pstt.run("big", progress=progress)
    assert killed, "the broker was never stopped"
    sent, failed = record.extra["kafka_messages_sent"], record.extra["kafka_messages_failed"]
    assert record.rows == rows and sent + failed == rows
    assert record.status == "failed" and failed > 0
    assert "not delivered" in record.error

    restarted = start_broker(tmp_path, port=broker.port, storage="s3://tansu/", env=s3_storage)
    try:
        found = consume_all(restarted.bootstrap, topic, timeout=30)
    finally:
        restarted.stop()
    keys = [int(m.key()) for m in found]
    # Nothing reported as sent that is not in the topic (acknowledged ⇒ stored).
    assert sent <= len(set(keys)) <= rows
    assert sent > 0


def test_database_error_mid_run_reports_what_was_delivered(
        home: HomeBuilder, kafka_broker: Any, topic: str, make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    # Row 301 makes SQLite raise while the result is being streamed (batches of 100).
    home.add_schedule(id="db", sharing_mode="kafka", batch_size=100, query=(
        "SELECT id, CASE WHEN id > 300 THEN json_extract('not json', '$') ELSE status END AS s "
        "FROM orders ORDER BY id"),
        sink_options={"connection": "local", "topic": topic, "key_field": "id"})
    record = make_pstt(home).run("db")
    assert record.status == "failed"
    assert record.error.startswith("SQL error")
    assert record.extra["kafka_topic"] == topic
    sent = record.extra["kafka_messages_sent"]
    # Every row handed to the sink before the error was delivered and reported (the cursor
    # may read ahead, so the error can surface before row 301 is reached).
    assert 100 <= sent == record.rows <= 300 and record.extra["kafka_messages_failed"] == 0
    keys = sorted(int(m.key()) for m in consume_all(kafka_broker.bootstrap, topic))
    assert keys == list(range(1, sent + 1))
