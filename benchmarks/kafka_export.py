"""Kafka export throughput: a PSTT schedule end to end vs two baselines, same broker setup.

    python benchmarks/kafka_export.py            # 1,000,000 rows
    python benchmarks/kafka_export.py --rows 100000

Contenders, each timed until every message is acknowledged:
  pstt      a schedule (sharing_mode "kafka") run through the facade: SQLite read with a
            streaming cursor, JSON serialisation, produce, wait for all delivery reports;
  bare      (a) a bare confluent-kafka producer sending the same payloads, serialised
            beforehand (not timed), with the same producer properties;
  aiokafka  (b) the release notes' stack: aiokafka with a JSON value serializer sending the
            same rows in chunks of 100 (send the chunk, await its acknowledgements).
Each contender gets a fresh tansu broker (same binary and flags) so that one run's stored
messages do not slow the next. Targets: pstt ≥ 0.8 × bare and ≥ 3 × aiokafka.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from pstt_core import Pstt  # noqa: E402
from pstt_core.values import dumps  # noqa: E402
from tests.kafka_broker import consume_all, start_broker  # noqa: E402

COLUMNS = "id, customer, city, amount, status, note, ordered_at"


def make_table(path: Path, rows: int) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, city TEXT, "
                "amount TEXT, status TEXT, note TEXT, ordered_at TEXT)")
    statuses = ["new", "paid", "shipped", "delivered", "cancelled"]
    con.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?)", (
        (i, f"Customer {i % 997}", ["Milano", "Roma", "München", "Paris"][i % 4],
         f"{(i * 7919) % 100000 / 100:.2f}", statuses[i % 5],
         None if i % 3 else f"note for order {i}",
         f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00")
        for i in range(1, rows + 1)))
    con.commit()
    con.close()


def read_rows(db: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = sqlite3.connect(db)
    cur = con.execute(f"SELECT {COLUMNS} FROM orders ORDER BY id")
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    con.close()
    return cols, rows


def run_pstt(home: Path, bootstrap: str, topic: str, compression: str, rows: int) -> float:
    conns = {"databases": [{"name": "bench", "url": "sqlite:///bench.db"}],
             "kafka_connections": [{"name": "bench", "bootstrap_servers": [bootstrap]}]}
    (home / "connections.json").write_text(json.dumps(conns))
    (home / "exports").mkdir(exist_ok=True)
    schedule = {"id": "bench", "name": "bench", "connection": "bench",
                "query": f"SELECT {COLUMNS} FROM orders ORDER BY id",
                "trigger": {"type": "interval", "seconds": 3600}, "sharing_mode": "kafka",
                "sink_options": {"connection": "bench", "topic": topic, "key_field": "id"}}
    (home / "exports" / "schedules.json").write_text(json.dumps({"schedules": [schedule]}))
    pstt = Pstt(home, environ={"KAFKA_COMPRESSION_TYPE": compression}, logs=False)
    t0 = time.perf_counter()
    record = pstt.run("bench")
    elapsed = time.perf_counter() - t0
    pstt.pm.hook.pstt_shutdown(pstt=pstt)
    assert record.status == "success", record.error
    assert record.extra["kafka_messages_sent"] == rows, record.to_dict()
    return elapsed


def run_bare(bootstrap: str, topic: str, compression: str, payloads: list[tuple[bytes, bytes]]) -> float:
    from confluent_kafka import Producer

    from pstt_sinks_kafka.models import KafkaConnectionConfig
    from pstt_sinks_kafka.producer import producer_config

    conf = producer_config(KafkaConnectionConfig(name="b", bootstrap_servers=[bootstrap]),
                           {"KAFKA_COMPRESSION_TYPE": compression})
    producer = Producer(conf)
    acked = [0]

    def on_delivery(err: Any, msg: Any) -> None:
        if err is None:
            acked[0] += 1

    t0 = time.perf_counter()
    for value, key in payloads:
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(300)
    elapsed = time.perf_counter() - t0
    assert acked[0] == len(payloads), acked
    return elapsed


def run_aiokafka(bootstrap: str, topic: str, compression: str, cols: list[str],
                 rows: list[tuple[Any, ...]]) -> float:
    from aiokafka import AIOKafkaProducer

    async def main() -> float:
        producer = AIOKafkaProducer(
            # enable_idempotence=True: tansu answers aiokafka's InitProducerId with
            # UNKNOWN_SERVER_ERROR (docs/KAFKA_TANSU_NOTES.md), so aiokafka runs without it.
            bootstrap_servers=bootstrap, acks="all",
            compression_type=None if compression == "none" else compression, linger_ms=5,
            value_serializer=lambda v: dumps(v).encode("utf-8"),
            key_serializer=lambda k: str(k).encode("utf-8"))
        await producer.start()
        try:
            t0 = time.perf_counter()
            for start in range(0, len(rows), 100):
                futures = [await producer.send(topic, value=dict(zip(cols, row)), key=row[0])
                           for row in rows[start:start + 100]]
                await asyncio.gather(*futures)
            return time.perf_counter() - t0
        finally:
            await producer.stop()

    return asyncio.run(main())


def fresh_broker(work: Path, fn: Callable[[str], float]) -> float:
    broker = start_broker(work)
    try:
        return fn(broker.bootstrap)
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--compression", default="none", choices=["none", "gzip"],
                        help="the same for all contenders (aiokafka here has only none/gzip)")
    parser.add_argument("--skip-aiokafka", action="store_true")
    parser.add_argument("--verify", action="store_true", help="consume the PSTT topic and count")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pstt-kafka-bench-"))
    try:
        db = work / "bench.db"
        t0 = time.perf_counter()
        make_table(db, args.rows)
        print(f"table: {args.rows:,} rows in {time.perf_counter() - t0:.1f} s; "
              f"compression {args.compression}")

        def pstt_run(bootstrap: str) -> float:
            elapsed = run_pstt(work, bootstrap, "bench-pstt", args.compression, args.rows)
            if args.verify:
                found = len(consume_all(bootstrap, "bench-pstt", expected=args.rows, timeout=300))
                print(f"  verify: consumer found {found:,} messages")
            return elapsed

        results: dict[str, float] = {"pstt": fresh_broker(work, pstt_run)}
        cols, rows = read_rows(db)
        payloads = [(dumps(dict(zip(cols, row))).encode("utf-8"), str(row[0]).encode())
                    for row in rows]
        results["bare"] = fresh_broker(
            work, lambda b: run_bare(b, "bench-bare", args.compression, payloads))
        del payloads
        if not args.skip_aiokafka:
            results["aiokafka"] = fresh_broker(
                work, lambda b: run_aiokafka(b, "bench-aio", args.compression, cols, rows))
        for name, seconds in results.items():
            print(f"{name:<9} {seconds:8.2f} s  {args.rows / seconds:>10,.0f} msg/s")
        ratio_a = results["bare"] / results["pstt"]
        print(f"pstt / bare confluent-kafka throughput: {ratio_a:.2f}  (target ≥ 0.80)")
        if "aiokafka" in results:
            ratio_b = results["aiokafka"] / results["pstt"]
            print(f"pstt / aiokafka throughput:             {ratio_b:.2f}  (target ≥ 3.00)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
