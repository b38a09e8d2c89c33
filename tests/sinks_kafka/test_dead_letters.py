"""Dead letters: rows larger than message.max.bytes among normal rows → the run is partial,
the dead-letter file / topic holds exactly those rows, sent + dead-lettered == rows, and
``pstt kafka replay`` delivers them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pstt_core import ConfigError
from tests.conftest import HomeBuilder, pstt_process
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import kafka_home

pytestmark = pytest.mark.kafka
# Every 25th row is ~6 KB: larger than KAFKA_MESSAGE_MAX_BYTES=4000 below; 20 of 500 rows.
QUERY = ("SELECT id, CASE WHEN id % 25 = 0 THEN hex(zeroblob(3000)) ELSE note END AS note "
         "FROM orders ORDER BY id")
BIG = {i for i in range(1, 501) if i % 25 == 0}
ENV = {"KAFKA_MESSAGE_MAX_BYTES": "4000", "KAFKA_SUCCESS_THRESHOLD": "90"}


def test_dead_letter_file_holds_exactly_the_undelivered_rows_and_replays(
        home: HomeBuilder, kafka_broker: Any, topic: str) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="orders", sharing_mode="kafka", query=QUERY,
                      sink_options={"connection": "local", "topic": topic, "key_field": "id",
                                    "headers": {"source": "pstt"},
                                    "dead_letter": {"file": True}})
    root = home.write()
    result = pstt_process(root, "run", "orders", **ENV)
    assert result.stdout.startswith("partial: 500 rows read, 480 delivered"), result.stdout
    record = json.loads(pstt_process(root, "history", "--json").stdout)["runs"][0]
    assert record["status"] == "partial"
    sent, dead = record["kafka_messages_sent"], record["kafka_dead_lettered"]
    assert (sent, dead) == (480, 20) and sent + dead == record["rows"] == 500
    path = root / "exports" / record["kafka_dead_letter"]
    assert record["kafka_dead_letter"] == f"dead_letter/orders/{record['export_id']}.jsonl"
    letters = [json.loads(line) for line in path.read_text().splitlines()]
    assert {int(x["key"]) for x in letters} == BIG
    first = letters[0]
    assert first["export_id"] == record["export_id"] and first["topic"] == topic
    assert "too large" in first["error"].lower()
    assert first["headers"] == [{"name": "source", "value": "pstt"}]
    assert json.loads(first["value"])["id"] == int(first["key"])
    on_topic = {int(m.key()) for m in consume_all(kafka_broker.bootstrap, topic, expected=480)}
    assert on_topic == set(range(1, 501)) - BIG
    # Replay with a producer that takes big messages: exactly the missing rows arrive.
    again = topic + "-replayed"
    replay = pstt_process(root, "kafka", "replay", str(path), "--to", f"local:{again}", "--json")
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout) == {"read": 20, "sent": 20, "failed": 0, "errors": []}
    back = consume_all(kafka_broker.bootstrap, again, expected=20)
    assert {int(m.key()) for m in back} == BIG
    assert all(m.headers() == [("source", b"pstt")] for m in back)


def test_dead_letter_topic_and_replay_from_it(home: HomeBuilder, kafka_broker: Any,
                                              topic: str, make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.connections["kafka_connections"].append(
        {"name": "dlq", "bootstrap_servers": [kafka_broker.bootstrap],
         "producer": {"message_max_bytes": 1_000_000}})
    dlq = topic + ".dlq"
    home.add_schedule(id="orders", sharing_mode="kafka", query=QUERY,
                      sink_options={"connection": "local", "topic": topic, "key_field": "id",
                                    "dead_letter": {"topic": dlq, "connection": "dlq"}})
    pstt = make_pstt(home, **ENV)
    record = pstt.run("orders")
    assert record.status == "partial"
    assert record.extra["kafka_dead_lettered"] == 20
    assert record.extra["kafka_dead_letter"] == f"dlq:{dlq}"
    assert record.extra["kafka_messages_sent"] + 20 == record.rows
    letters = consume_all(kafka_broker.bootstrap, dlq, expected=20)
    assert {int(m.key()) for m in letters} == BIG
    headers = dict(letters[0].headers())
    assert headers["x-pstt-export-id"] == record.export_id.encode()
    assert headers["x-pstt-source-topic"] == topic.encode()
    assert b"too large" in headers["x-pstt-error"].lower()
    root = home.root
    again = topic + "-from-dlq"
    replay = pstt_process(root, "kafka", "replay", dlq, "--to", f"dlq:{again}", "--json")
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["sent"] == 20
    assert {int(m.key()) for m in consume_all(kafka_broker.bootstrap, again, expected=20)} == BIG


def test_dead_letter_option_is_checked_when_saved(home: HomeBuilder, kafka_broker: Any,
                                                  topic: str, make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    pstt = make_pstt(home)
    base = {"id": "d", "name": "D", "connection": "demo", "query": "SELECT 1 AS x",
            "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "kafka"}
    for bad, words in [({"file": True, "topic": "x"}, "either"),
                       ({"topic": "bad topic"}, "dead_letter.topic"),
                       ({"topic": "ok", "connection": "nope"}, "unknown Kafka connection"),
                       ({"files": True}, "unknown key")]:
        with pytest.raises(ConfigError) as err:
            pstt.create_schedule({**base, "sink_options": {"connection": "local", "topic": topic,
                                                           "dead_letter": bad}})
        assert words in str(err.value) and "dead_letter" in str(err.value), str(err.value)
