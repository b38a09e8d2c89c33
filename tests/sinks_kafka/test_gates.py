"""Result gates of the core on the Kafka sharing mode (tests/core/test_gates.py has the
filesystem ones and the validation)."""

from __future__ import annotations

from typing import Any

import pytest

from pstt_core import ConfigError
from tests.conftest import HomeBuilder
from tests.core.test_gates import EMPTY, TEN
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import kafka_home


@pytest.mark.kafka
def test_kafka_refuses_row_counts_and_honours_on_empty(home: HomeBuilder, kafka_broker: Any,
                                                       topic: str) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="k", sharing_mode="kafka", query=EMPTY, on_empty="skip",
                      sink_options={"connection": "local", "topic": topic})
    pstt = home.pstt(logs=False)
    try:
        record = pstt.run("k")
        assert record.status == "skipped" and "returned no rows" in record.error
        assert record.extra["kafka_messages_sent"] == 0
        with pytest.raises(ConfigError) as err:
            pstt.create_schedule({"id": "k2", "name": "K2", "connection": "demo", "query": TEN,
                                  "trigger": {"type": "interval", "seconds": 60},
                                  "sharing_mode": "kafka", "min_rows": 5,
                                  "sink_options": {"connection": "local", "topic": topic}})
        assert "min_rows" in str(err.value) and "publishes each row as it is read" in str(err.value)
        assert consume_all(kafka_broker.bootstrap, topic, timeout=3) == []
    finally:
        pstt.close()
