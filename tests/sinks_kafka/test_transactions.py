"""All-or-nothing Kafka runs against tansu: commit after the last acknowledgement, abort on
failure or a failed gate, the zombie of an earlier run fenced. (tansu does not hide aborted
messages from read_committed consumers: the tests check what PSTT did — commit or abort,
records, status — not what the broker hides; docs/KAFKA_TANSU_NOTES.md.)"""

from __future__ import annotations

from typing import Any

import pytest

from pstt_core import ConfigError
from tests.conftest import HomeBuilder
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import kafka_home

pytestmark = pytest.mark.kafka
FAILS_AT_301 = ("SELECT id, CASE WHEN id > 300 THEN json_extract('not json', '$') ELSE status "
                "END AS s FROM orders ORDER BY id")


def _schedule(home: HomeBuilder, topic: str, sid: str = "tx", **fields: Any) -> None:
    home.add_schedule(id=sid, sharing_mode="kafka", batch_size=100, **{
        "query": "SELECT * FROM orders ORDER BY id", **fields,
        "sink_options": {"connection": "local", "topic": topic, "key_field": "id",
                         "delivery": "transactional"}})


def test_transactional_run_commits_after_the_last_row(home: HomeBuilder, kafka_broker: Any,
                                                      topic: str, make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    _schedule(home, topic)
    record = make_pstt(home).run("tx")
    assert record.status == "success", record.error
    assert record.extra["kafka_transaction"] == "committed"
    assert record.extra["kafka_transactional_id"] == "pstt.tx"
    assert record.extra["kafka_messages_sent"] == record.extra["rows_delivered"] == 500
    got = consume_all(kafka_broker.bootstrap, topic, expected=500,
                      config={"isolation.level": "read_committed"})
    assert {int(m.key()) for m in got} == set(range(1, 501))


def test_a_run_failing_halfway_aborts_and_the_next_commits(home: HomeBuilder, kafka_broker: Any,
                                                           topic: str, make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    _schedule(home, topic, query=FAILS_AT_301)
    pstt = make_pstt(home)
    failed = pstt.run("tx")
    assert failed.status == "failed" and failed.error.startswith("SQL error")
    assert failed.extra["kafka_transaction"] == "aborted"
    assert failed.extra["kafka_messages_sent"] == failed.extra["rows_delivered"] == 0
    assert failed.extra["kafka_messages_aborted"] >= 100
    assert pstt.scheduler_metrics.last_success("tx") is None  # nothing moved forward
    pstt.patch_schedule("tx", {"query": "SELECT * FROM orders WHERE id <= 50"})
    ok = pstt.run("tx")
    assert ok.status == "success" and ok.extra["kafka_transaction"] == "committed"
    assert pstt.scheduler_metrics.last_success("tx") is not None


def test_min_rows_not_met_aborts_the_transaction(home: HomeBuilder, kafka_broker: Any,
                                                 topic: str, make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    _schedule(home, topic, query="SELECT * FROM orders WHERE id <= 10", min_rows=11)
    record = make_pstt(home).run("tx")
    assert record.status == "failed" and "fewer than min_rows (11)" in record.error
    assert record.extra["kafka_transaction"] == "aborted"
    assert record.extra["kafka_messages_sent"] == 0 and record.extra["kafka_messages_aborted"] == 10


def test_a_zombie_with_the_same_transactional_id_is_fenced(home: HomeBuilder, kafka_broker: Any,
                                                           topic: str, make_pstt: Any) -> None:
    from confluent_kafka import KafkaException, Producer

    kafka_home(home, kafka_broker.bootstrap)
    _schedule(home, topic, query="SELECT * FROM orders WHERE id <= 20")
    zombie = Producer({"bootstrap.servers": kafka_broker.bootstrap, "log_level": 2,
                       "transactional.id": "pstt.tx"})
    zombie.init_transactions(10)  # a producer of an earlier run, still alive
    record = make_pstt(home).run("tx")  # starting the run's producer fences the zombie
    assert record.status == "success", record.error
    with pytest.raises(KafkaException) as err:
        zombie.begin_transaction()
        zombie.produce(topic, b'{"zombie": true}', b"zombie")
        zombie.flush(10)
        zombie.commit_transaction(10)
    assert "fenced" in err.value.args[0].str().lower()
    keys = {m.key() for m in consume_all(kafka_broker.bootstrap, topic, timeout=5)}
    assert b"zombie" not in keys and len(keys) == 20


def test_transactional_options_are_checked(home: HomeBuilder, kafka_broker: Any, topic: str,
                                           make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    pstt = make_pstt(home)
    base = {"id": "t2", "name": "T2", "connection": "demo", "query": "SELECT 1 AS x",
            "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "kafka"}
    pstt.create_schedule({**base, "min_rows": 1, "sink_options": {
        "connection": "local", "topic": topic, "delivery": "transactional"}})  # allowed
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule({**base, "id": "t3", "sink_options": {
            "connection": "local", "topic": topic, "delivery": "transactional",
            "dead_letter": {"file": True}}})
    assert "dead_letter" in str(err.value)
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule({**base, "id": "t4", "sink_options": {
            "connection": "local", "topic": topic, "delivery": "exactly-once"}})
    assert "delivery" in str(err.value)
