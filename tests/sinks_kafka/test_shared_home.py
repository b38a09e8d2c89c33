"""Several processes on one home (files backend): two real ``pstt serve`` and a ``pstt run``
loop from a shell. Every fire runs once, and the Kafka figures of all three add up."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HomeBuilder, cli_env, free_port, wait_listening
from tests.kafka_broker import consume_all
from tests.processes import counting_query, history, start_pstt
from tests.sinks_kafka.conftest import kafka_home

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ROWS = 3
RUNS_FROM_CRON = 3


def _metrics(root: Path) -> dict[str, int]:
    """Messages per topic in ``kafka_metrics.json``."""
    data = json.loads((root / "exports" / "kafka_metrics.json").read_text())
    return {t["topic"]: t["messages"] for t in data["totals_by_topic"]}


def test_two_serves_and_a_cron_run_on_one_home_run_each_fire_once(
        home: HomeBuilder, kafka_broker: Any) -> None:
    stamp = str(time.time_ns())
    tick_topic, cron_topic = f"tick-{stamp}", f"cron-{stamp}"
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="tick", query=counting_query(ROWS), sharing_mode="kafka",
                      trigger={"type": "interval", "seconds": 2},
                      sink_options={"connection": "local", "topic": tick_topic})
    home.add_schedule(id="nightly", query=counting_query(ROWS), sharing_mode="kafka",
                      enabled=False,
                      sink_options={"connection": "local", "topic": cron_topic})
    root = home.write()
    ports = [free_port(), free_port()]
    serves = [start_pstt(root, "serve", "--port", str(port)) for port in ports]
    try:
        for port, proc in zip(ports, serves, strict=True):
            wait_listening(port, proc, 60, "pstt serve")
        started = time.monotonic()
        loop = subprocess.run(
            ["bash", "-c", f'for i in $(seq {RUNS_FROM_CRON}); do "$0" -m pstt_core --home '
                           f'"$1" run nightly --no-progress || exit 1; sleep 1; done',
             sys.executable, str(root)],
            capture_output=True, text=True, env=cli_env(), timeout=120)
        assert loop.returncode == 0, loop.stderr
        time.sleep(max(0.0, 13 - (time.monotonic() - started)))
    finally:
        for proc in serves:
            proc.send_signal(signal.SIGTERM)
        outcomes = [proc.communicate(timeout=60) for proc in serves]
    for proc, (_out, err) in zip(serves, outcomes, strict=True):
        assert proc.returncode in (0, 143), err

    records = history(root)
    ticks = [r for r in records if r["schedule_id"] == "tick"]
    fires = Counter(r["scheduled_at"] for r in ticks)
    assert len(fires) >= 4, ticks  # ~6 fires in 13 s
    assert [at for at, n in fires.items() if n > 1] == [], "fires recorded twice"
    assert all(r["trigger"] == "schedule" and r["instance"] for r in ticks), ticks
    # the fire times are on the 2 s grid, the same in both processes
    assert all(r["scheduled_at"].endswith(("0+00:00", "2+00:00", "4+00:00", "6+00:00",
                                           "8+00:00")) for r in ticks), fires
    cron_runs = [r for r in records if r["schedule_id"] == "nightly"]
    assert [(r["status"], r["trigger"], r["scheduled_at"]) for r in cron_runs] == \
        [("success", "manual", None)] * RUNS_FROM_CRON

    on_tick = len(consume_all(kafka_broker.bootstrap, tick_topic, timeout=30))
    on_cron = len(consume_all(kafka_broker.bootstrap, cron_topic, timeout=30))
    assert on_cron == ROWS * RUNS_FROM_CRON
    assert on_tick == sum(r.get("kafka_messages_sent", 0) for r in ticks)
    assert _metrics(root) == {tick_topic: on_tick, cron_topic: on_cron}
