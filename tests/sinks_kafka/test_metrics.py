"""The metrics service: hourly buckets, percentiles, retention, persistence, old files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pstt_core import PluginState, StateFileError
from pstt_core.plugin.state import FileStateBackend, Resources
from pstt_sinks_kafka.metrics import KafkaMetricsService, hour_of, percentile, validate_document


def metrics_in(path: Path, **settings: Any) -> KafkaMetricsService:
    """The metrics service keeping its document in ``path`` (as the plugin's state file)."""
    backend = FileStateBackend(path.parent, path.parent / ".locks", {"kafka": path.name},
                               validators={"kafka": validate_document})
    return KafkaMetricsService(PluginState("kafka", backend, Resources()), **settings)


def test_buckets_by_hour_topic_connection(tmp_path: Path) -> None:
    path = tmp_path / "exports" / "kafka_metrics.json"
    m = metrics_in(path, flush_interval=3600)
    now = datetime.now(timezone.utc)
    m.record("dev", "orders", messages=100, bytes=10_000, latency_sum_ms=500, latency_count=100,
             samples=[float(i) for i in range(1, 101)], busy_sec=0.5, at=now)
    m.record("dev", "orders", failures=3, at=now)
    m.record("prod", "orders", messages=10, bytes=1000, latency_sum_ms=20, latency_count=10,
             samples=[2.0] * 10, busy_sec=0.1, at=now - timedelta(hours=2))
    m.record("dev", "old", messages=5, at=now - timedelta(hours=30))
    assert not path.exists()  # not written on every message

    s = m.summary(24)
    assert (s["messages"], s["bytes"], s["failures"], s["topics"], s["connections"]) == (
        110, 11_000, 3, 1, 2)
    assert s["latency_avg_ms"] == round(520 / 110, 3)
    assert s["latency_p50_ms"] is not None and s["latency_p99_ms"] >= s["latency_p95_ms"]
    assert s["throughput_msg_s"] == round(110 / 0.6, 1)
    assert s["all_time"]["messages"] == 115

    hourly = m.hourly(24)
    assert len(hourly) == 24 and hourly[-1]["hour"] == hour_of(now).isoformat()
    assert hourly[-1]["messages"] == 100 and hourly[-1]["failures"] == 3
    assert hourly[-3]["messages"] == 10 and hourly[-2]["messages"] == 0
    assert set(hourly[0]) == {"hour", "messages", "bytes", "failures", "latency_avg_ms",
                              "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
                              "throughput_msg_s"}

    topics = {(t["topic"], t["connection"]): t for t in m.topics(48)}
    assert topics[("orders", "dev")]["messages"] == 100
    assert topics[("old", "dev")]["messages"] == 5
    assert topics[("orders", "prod")]["last_message_at"] is not None

    m.close()
    data = json.loads(path.read_text())
    assert data["totals"] == {"messages": 115, "bytes": 11_000, "failures": 3}
    again = metrics_in(path)
    assert again.summary(48)["messages"] == 115
    assert again.topics(24) == m.topics(24)


def test_retention_removes_old_buckets(tmp_path: Path) -> None:
    path = tmp_path / "kafka_metrics.json"
    m = metrics_in(path, retention_days=30)
    now = datetime.now(timezone.utc)
    m.record("dev", "t", messages=1, at=now - timedelta(days=31))
    m.record("dev", "t", messages=2, at=now - timedelta(days=29))
    m.flush()
    hours = [b["hour"] for b in json.loads(path.read_text())["buckets"]]
    assert hours == [hour_of(now - timedelta(days=29)).isoformat()]


def test_unknown_keys_are_read_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "kafka_metrics.json"
    hour = hour_of(datetime.now(timezone.utc)).isoformat()
    path.write_text(json.dumps({
        "total_messages": 7,  # a key the service never wrote
        "buckets": [{"hour": hour, "topic": "t", "connection": "c", "messages": 4,
                     "latency_samples_ms": [1, 2], "note": "by hand"}]}))
    m = metrics_in(path)
    assert m.summary()["messages"] == 4
    m.record("c", "t", messages=1)
    m.flush()
    data = json.loads(path.read_text())
    assert data["total_messages"] == 7
    assert data["totals"]["messages"] == 1 and data["buckets"][0]["messages"] == 5


@pytest.mark.parametrize(("content", "where", "message"), [
    ('{"buckets": [{"hour": "h", "topic": "t", "connection": "c", "messages": "4"}]}',
     "$.buckets[0].messages", "must be a number, not a string"),
    ('{"buckets": [{"hour": "not a time", "topic": "t", "connection": "c"}]}',
     "$.buckets[0].hour", "must be an ISO-8601 time"),
    ('{"buckets": [{"topic": "missing hour", "connection": "c"}]}', "$.buckets[0].hour",
     "is missing"),
    ('{"buckets": ["garbage"]}', "$.buckets[0]", "must be an object, not a string"),
    ("[1, 2, 3]", "$", "must be an object, not an array"),
    ("{not json", None, "invalid JSON"),
])
def test_a_file_it_cannot_understand_is_refused_and_left_alone(
        tmp_path: Path, content: str, where: str | None, message: str) -> None:
    path = tmp_path / "kafka_metrics.json"
    path.write_text(content)
    with pytest.raises(StateFileError, match=message) as err:
        metrics_in(path)
    assert err.value.file == str(path) and err.value.path == where
    assert path.read_text() == content


def test_reservoir_stays_bounded(tmp_path: Path) -> None:
    m = metrics_in(tmp_path / "m.json", samples=50)
    for i in range(20):
        m.record("c", "t", messages=100, latency_sum_ms=100.0 * i, latency_count=100,
                 samples=[float(i)] * 100)
    cell = next(iter(m.cells.values()))
    assert len(cell["samples"]) == 50
    assert max(cell["samples"]) > 0  # later samples do replace earlier ones


def test_percentile() -> None:
    assert percentile([], 0.5) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(map(float, range(101))), 0.99) == 99.0


def test_fast_row_encoder_matches_the_reference() -> None:
    """orjson (when present) gives the same JSON value as pstt_core.values.dumps."""
    import json
    import uuid
    from datetime import date, time
    from decimal import Decimal

    from pstt_core.values import dumps
    from pstt_sinks_kafka.rowjson import encode_json

    row = {"id": 7, "big": 2**70, "amount": Decimal("12345678901234567890.123456789"),
           "at": datetime(2026, 1, 21, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
           "naive": datetime(2026, 1, 21, 10, 0), "day": date(2026, 1, 21),
           "t": time(12, 34, 56, 789000), "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
           "b": b"\x00\xffbin", "f": 0.1, "none": None, "text": "città \"quoted\" 東京\n",
           "nested": {"a": [1, 2.5, "x"]}, "flag": True}
    assert json.loads(encode_json(row)) == json.loads(dumps(row))
    assert json.loads(encode_json(row))["amount"] == "12345678901234567890.123456789"
    assert json.loads(encode_json(row))["big"] == 2**70


def test_two_processes_on_one_document_add_up(tmp_path: Path) -> None:
    """``pstt serve`` and a ``pstt run`` (two services on one file): each flush adds its own
    figures to what is stored; neither writes its stale copy over the other's."""
    path = tmp_path / "exports" / "kafka_metrics.json"
    serve, cron = metrics_in(path, flush_interval=3600), metrics_in(path, flush_interval=3600)
    now = datetime.now(timezone.utc)
    serve.record("dev", "orders", messages=7, bytes=70, latency_count=7, samples=[1.0] * 7, at=now)
    serve.flush()
    cron.record("dev", "orders", messages=5, bytes=50, failures=1, latency_count=5,
                samples=[3.0] * 5, at=now)
    cron.record("dev", "audit", messages=2, at=now)
    cron.flush()  # its view never had serve's 7: a whole-document write would drop them
    serve.record("dev", "orders", messages=1, at=now)
    serve.close()
    data = json.loads(path.read_text())
    assert data["totals"] == {"messages": 15, "bytes": 120, "failures": 1}
    by_topic = {t["topic"]: t["messages"] for t in data["totals_by_topic"]}
    assert by_topic == {"orders": 13, "audit": 2}
    orders = next(b for b in data["buckets"] if b["topic"] == "orders")
    assert (orders["messages"], orders["latency_count"]) == (13, 12)
    assert sorted(orders["latency_samples_ms"]) == [1.0] * 7 + [3.0] * 5
    # each process shows what the other stored (read again, at most every REFRESH_SEC)
    cron.refresh(force=True)
    assert cron.summary(24)["all_time"]["messages"] == 15


def test_a_flush_that_fails_keeps_the_figures_for_the_next(tmp_path: Path) -> None:
    path = tmp_path / "exports" / "kafka_metrics.json"
    m = metrics_in(path, flush_interval=3600)
    m.record("dev", "orders", messages=4)
    m.flush()
    path.write_text("{not json")  # damaged by hand: refused, never written over
    m.record("dev", "orders", messages=3)
    m.flush()
    assert path.read_text() == "{not json"
    assert m.dirty and m.summary(24)["all_time"]["messages"] == 7
    path.unlink()
    m.flush()
    assert json.loads(path.read_text())["totals"]["messages"] == 3  # 4 went with the file
