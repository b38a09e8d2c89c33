"""Schedules exporting tables to a real broker; every message checked by a consumer."""

from __future__ import annotations

import json
import re
import sqlite3
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from pstt_core import ConfigError, RunInfo
from tests.conftest import HomeBuilder
from tests.kafka_broker import consume_all
from tests.sinks_kafka.conftest import decode, kafka_home, kafka_runtime

pytestmark = pytest.mark.kafka


def orders(home: HomeBuilder) -> dict[int, dict[str, Any]]:
    con = sqlite3.connect(home.root / "demo.db")
    con.row_factory = sqlite3.Row
    rows = {r["id"]: dict(r) for r in con.execute("SELECT * FROM orders")}
    con.close()
    return rows


def test_schedule_exports_every_row_with_key_value_and_metadata(
        home: HomeBuilder, kafka_broker: Any, topic: str, make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="orders", sharing_mode="kafka", sink_options={
        "connection": "local", "topic": topic, "key_field": "id", "batch_size": 50,
        "include_metadata": True})
    pstt = make_pstt(home)
    record = pstt.run("orders")
    assert record.status == "success", record.error
    extra = record.to_dict()
    assert (extra["kafka_topic"], extra["kafka_messages_sent"], extra["kafka_messages_failed"]) == (
        topic, 500, 0)
    assert extra["kafka_chunks"] == 10
    assert extra["kafka_duration_sec"] > 0
    history = pstt.history.get(record.export_id)
    assert history["kafka_messages_sent"] == 500 and history["rows"] == 500

    got = decode(consume_all(kafka_broker.bootstrap, topic, expected=500))
    expected = orders(home)
    assert set(got) == {str(i) for i in expected}
    for key, message in got.items():
        assert message["data"] == expected[int(key)]
        assert message["metadata"] == {
            "source_query": "SELECT * FROM orders ORDER BY id", "source_connection": "demo",
            "export_timestamp": record.started_at, "export_id": record.export_id}


@pytest.mark.parametrize("spelling", ["options", "flat"])
def test_metadata_fields_choose_what_each_message_carries(
        home: HomeBuilder, kafka_broker: Any, topic: str, make_pstt: Any, spelling: str) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    query = "SELECT id, status FROM orders WHERE id <= 25"
    if spelling == "options":
        fields: dict[str, Any] = {"sink_options": {
            "connection": "local", "topic": topic, "key_field": "id", "include_metadata": True,
            "metadata_fields": ["export_id", "export_timestamp"]}}
    else:  # the flat legacy spelling, the list as one comma-separated text
        fields = {"kafka_connection": "local", "kafka_topic": topic, "kafka_key_field": "id",
                  "kafka_include_metadata": True,
                  "kafka_metadata_fields": "export_id, export_timestamp"}
    home.add_schedule(id="slim", sharing_mode="kafka", query=query, **fields)
    pstt = make_pstt(home)
    assert pstt.schedules.get("slim").sink_options["metadata_fields"] == [
        "export_id", "export_timestamp"]
    record = pstt.run("slim")
    assert record.status == "success", record.error
    msgs = consume_all(kafka_broker.bootstrap, topic, expected=25)
    got = decode(msgs)
    assert sorted(int(k) for k in got) == list(range(1, 26))
    for message in got.values():
        assert list(message["metadata"]) == ["export_id", "export_timestamp"]
        assert message["metadata"] == {"export_id": record.export_id,
                                       "export_timestamp": record.started_at}
        assert query not in json.dumps(message)
    assert all(len(m.value()) < 200 for m in msgs)


@pytest.mark.parametrize(("fields", "path", "message"), [
    (["export_id", "sql"], "metadata_fields[1]", "unknown metadata field 'sql'"),
    (["export_id", "export_id"], "metadata_fields[1]", "listed twice"),
    ([], "metadata_fields", "name at least one of source_query"),
])
def test_bad_metadata_fields_are_refused_when_saved(home: HomeBuilder, make_pstt: Any,
                                                    fields: list[str], path: str,
                                                    message: str) -> None:
    kafka_home(home, "127.0.0.1:9")
    pstt = make_pstt(home)
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        pstt.create_schedule({"id": "bad", "name": "bad", "connection": "demo", "query": "SELECT 1",
                              "trigger": {"type": "interval", "seconds": 60},
                              "sharing_mode": "kafka", "sink_options": {
                                  "connection": "local", "topic": "t", "include_metadata": True,
                                  "metadata_fields": fields}})
    assert err.value.path == f"$.sink_options.{path}"
    # without include_metadata an empty list means nothing and is accepted
    pstt.create_schedule({"id": "plain", "name": "plain", "connection": "demo", "query": "SELECT 1",
                          "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "kafka",
                          "sink_options": {"connection": "local", "topic": "t",
                                           "metadata_fields": []}})


def test_without_metadata_and_without_key(home: HomeBuilder, kafka_broker: Any, topic: str,
                                          make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="plain", sharing_mode="kafka",
                      query="SELECT id, note FROM orders WHERE id <= 20",
                      sink_options={"connection": "local", "topic": topic})
    record = make_pstt(home).run("plain")
    assert record.status == "success", record.error
    msgs = consume_all(kafka_broker.bootstrap, topic, expected=20)
    assert len(msgs) == 20
    assert all(m.key() is None for m in msgs)
    values = sorted((json.loads(m.value()) for m in msgs), key=lambda v: v["id"])
    assert values == [dict(r) for r in _select(home, "SELECT id, note FROM orders WHERE id <= 20")]


def _select(home: HomeBuilder, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(home.root / "demo.db")
    con.row_factory = sqlite3.Row
    rows = list(con.execute(sql))
    con.close()
    return rows


def test_null_key_means_no_key(home: HomeBuilder, kafka_broker: Any, topic: str,
                               make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="notes", sharing_mode="kafka",
                      query="SELECT id, note FROM orders WHERE id <= 60",
                      sink_options={"connection": "local", "topic": topic, "key_field": "note"})
    record = make_pstt(home).run("notes")
    assert record.status == "success", record.error
    msgs = consume_all(kafka_broker.bootstrap, topic, expected=60)
    for m in msgs:
        note = json.loads(m.value())["note"]
        assert m.key() == (None if note is None else note.encode())


def test_unknown_key_field_fails_clearly(home: HomeBuilder, kafka_broker: Any, topic: str,
                                         make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="bad", sharing_mode="kafka", sink_options={
        "connection": "local", "topic": topic, "key_field": "order_no"})
    record = make_pstt(home).run("bad")
    assert record.status == "failed"
    assert "key_field 'order_no' is not a column" in record.error
    assert "customer_id" in record.error


LEGACY = [
    {"sink_options": {"connection": "local", "topic": "{t}", "key_field": "id", "batch_size": 7,
                      "include_metadata": True}},
    {"kafka_connection": "local", "kafka_topic": "{t}", "kafka_key_field": "id",
     "kafka_batch_size": 7, "kafka_include_metadata": True},
    {"kafka_config": {"connection": "local", "topic": "{t}", "key_field": "id", "batch_size": 7,
                      "include_metadata": True}},
    {"kafka_config": {"kafka_connection": "local", "kafka_topic": "{t}", "kafka_key_field": "id",
                      "kafka_batch_size": 7, "kafka_include_metadata": True}},
]


@pytest.mark.parametrize("spelling", range(len(LEGACY)), ids=["options", "flat", "nested", "nested-legacy"])
def test_legacy_spellings_are_equivalent(home: HomeBuilder, kafka_broker: Any, topic: str,
                                         make_pstt: Any, spelling: int) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    fields = json.loads(json.dumps(LEGACY[spelling]).replace("{t}", topic))
    home.add_schedule(id="legacy", sharing_mode="kafka", query="SELECT * FROM orders WHERE id <= 30",
                      **fields)
    pstt = make_pstt(home)
    schedule = pstt.schedules.get("legacy")
    assert schedule.sink_options == {"connection": "local", "topic": topic, "key_field": "id",
                                     "batch_size": 7, "include_metadata": True, "headers": {},
                                     "compression_type": None,
                                     "metadata_fields": list(RunInfo.METADATA_FIELDS),
                                     "delivery": "idempotent", "dead_letter": None}
    record = pstt.run("legacy")
    assert record.status == "success", record.error
    assert record.extra["kafka_chunks"] == 5  # 30 rows in chunks of 7
    got = decode(consume_all(kafka_broker.bootstrap, topic, expected=30))
    assert sorted(int(k) for k in got) == list(range(1, 31))
    assert all(v["metadata"]["export_id"] == record.export_id for v in got.values())


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_compression(home: HomeBuilder, kafka_broker: Any, topic: str, make_pstt: Any,
                           compression: str) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="c", sharing_mode="kafka", sink_options={
        "connection": "local", "topic": topic, "key_field": "id"})
    pstt = make_pstt(home, KAFKA_COMPRESSION_TYPE=compression)
    record = pstt.run("c")
    assert record.status == "success", record.error
    handle = kafka_runtime(pstt).pool.producer("local")
    assert handle.config["compression.type"] == compression
    got = decode(consume_all(kafka_broker.bootstrap, topic, expected=500))
    assert len(got) == 500 and got["42"] == orders(home)[42]


def test_schedule_compression_override(home: HomeBuilder, kafka_broker: Any, topic: str,
                                       make_pstt: Any) -> None:
    kafka_home(home, kafka_broker.bootstrap, compression_type="gzip")
    home.add_schedule(id="c", sharing_mode="kafka", query="SELECT * FROM orders WHERE id <= 10",
                      sink_options={"connection": "local", "topic": topic, "key_field": "id",
                                    "compression_type": "zstd"})
    pstt = make_pstt(home)
    assert pstt.run("c").status == "success"
    pool = kafka_runtime(pstt).pool
    assert pool.producer("local").config["compression.type"] == "gzip"
    assert pool.producer("local", "zstd").config["compression.type"] == "zstd"
    assert len(consume_all(kafka_broker.bootstrap, topic, expected=10)) == 10


@pytest.mark.parametrize("acks,idempotence", [("all", "true"), ("-1", "false"), ("1", "true"),
                                              ("0", "false")])
def test_acks_and_idempotence(home: HomeBuilder, kafka_broker: Any, topic: str, make_pstt: Any,
                              acks: str, idempotence: str) -> None:
    kafka_home(home, kafka_broker.bootstrap)
    home.add_schedule(id="a", sharing_mode="kafka", sink_options={
        "connection": "local", "topic": topic, "key_field": "id"})
    pstt = make_pstt(home, KAFKA_ACKS=acks, KAFKA_ENABLE_IDEMPOTENCE=idempotence)
    record = pstt.run("a")
    assert record.status == "success", record.error
    config = kafka_runtime(pstt).pool.producer("local").config
    canonical = "all" if acks == "-1" else acks
    assert config["acks"] == canonical
    # Idempotence needs acks=all; with acks 0/1 it is switched off rather than failing.
    assert config["enable.idempotence"] == ("true" if idempotence == "true" and canonical == "all"
                                            else "false")
    assert len(decode(consume_all(kafka_broker.bootstrap, topic, expected=500))) == 500


@pytest.mark.postgres
def test_postgresql_export_is_lossless(home: HomeBuilder, kafka_broker: Any, pg_url: str,
                                       topic: str, unique_name: str, make_pstt: Any) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"""CREATE TABLE {unique_name} (id int PRIMARY KEY, amount numeric(20,6),
            at timestamptz, day date, t time, u uuid, b bytea, label text)"""))
        conn.execute(sa.text(f"""INSERT INTO {unique_name}
            SELECT g, (g * 1.123456)::numeric(20,6), timestamptz '2026-01-21 10:00:00+01' + g * interval '1 minute',
                   date '2026-01-21' + g, time '12:34:56.789', md5(g::text)::uuid,
                   decode(lpad(to_hex(g), 8, '0'), 'hex'), 'città ' || g
            FROM generate_series(1, 300) g"""))
    try:
        home.add_database("pg", pg_url)
        kafka_home(home, kafka_broker.bootstrap)
        home.add_schedule(id="pg", connection="pg", sharing_mode="kafka", batch_size=64,
                          query=f"SELECT * FROM {unique_name} ORDER BY id",
                          sink_options={"connection": "local", "topic": topic, "key_field": "u"})
        record = make_pstt(home).run("pg")
        assert record.status == "success", record.error
        assert record.extra["kafka_messages_sent"] == 300
        got = decode(consume_all(kafka_broker.bootstrap, topic, expected=300))
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT * FROM {unique_name}")).mappings().all()
        import base64

        for row in rows:
            value = got[str(row["u"])]
            assert Decimal(value["amount"]) == row["amount"]
            assert value["at"] == row["at"].isoformat()
            assert value["day"] == row["day"].isoformat() and value["t"] == row["t"].isoformat()
            assert value["u"] == str(row["u"])
            assert base64.b64decode(value["b"]) == bytes(row["b"])
            assert value["label"] == row["label"]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {unique_name}"))
        engine.dispose()
