"""An incremental schedule to a real Kafka topic, fired by the scheduler every second while
writer processes insert rows (ties, late commits): the topic read back holds every row of the
table exactly once — on SQLite, PostgreSQL and MariaDB (session zone -05:00)."""

from __future__ import annotations

import collections
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.conftest import HomeBuilder, wait_for
from tests.core.test_incremental import _late, _table_ids, _writer, feed_table  # noqa: F401
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import kafka_home


def _successes_after(pstt: Any, moment: datetime) -> list[dict[str, Any]]:
    return [r for r in pstt.history.query(schedule_id="feed", limit=None)[1]
            if r["status"] == "success" and datetime.fromisoformat(r["started_at"]) > moment]


def test_a_scheduled_feed_to_kafka_delivers_every_row_once(
        feed_table: tuple[str, str], home: HomeBuilder,  # noqa: F811
        kafka_broker: Any, topic: str) -> None:
    url, table = feed_table
    delay = 4.0  # late commits up to delay/2: slack for a loaded machine
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="feed", connection="feed", query=f"SELECT id, ts, v FROM {table}",
                      trigger={"type": "interval", "seconds": 1}, sharing_mode="kafka",
                      incremental={"column": "ts", "tiebreaker": "id", "delay_sec": delay},
                      sink_options={"connection": "local", "topic": topic, "key_field": "id"})
    pstt = home.pstt(logs=False)
    writers = [_writer(url, table, 20, "ties", seed, _late(url, delay)) for seed in (3, 4)]
    pstt.start()
    try:
        for w in writers:
            assert w.wait(timeout=60) == 0
        # to the microsecond: a moment truncated to the second left the last rows undue
        done = datetime.now(timezone.utc) + timedelta(seconds=delay + 0.5)
        # a run that started after the last rows became due has drained the table
        wait_for(lambda: _successes_after(pstt, done), timeout=30)
    finally:
        pstt.stop()
    records = pstt.history.query(schedule_id="feed", limit=None)[1]
    assert {r["status"] for r in records} <= {"success", "skipped"}, \
        [r["error"] for r in records if r["status"] != "success"]
    table_ids = _table_ids(url, table)
    messages = consume_all(kafka_broker.bootstrap, topic, expected=sum(table_ids.values()),
                           timeout=60)
    sent = collections.Counter(int(json.loads(m.value())["id"]) for m in messages)
    time.sleep(1)
    assert len(consume_all(kafka_broker.bootstrap, topic, timeout=10)) == len(messages)
    assert not [i for i, n in sent.items() if n > 1], "rows delivered twice"
    assert set(table_ids) - set(sent) == set(), "rows lost"
    assert sent == table_ids
    assert all(m.key().decode() == str(json.loads(m.value())["id"]) for m in messages)
