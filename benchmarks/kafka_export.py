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
import functools
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.kafka_broker import consume_all, start_broker  # noqa: E402

from pstt_core import Pstt  # noqa: E402
from pstt_core.values import dumps  # noqa: E402
from pstt_sinks_kafka.metrics import percentile  # noqa: E402
from pstt_sinks_kafka.rowjson import encode_json  # noqa: E402

T = TypeVar("T")
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
    pstt.close()
    assert record.status == "success", record.error
    assert record.extra["kafka_messages_sent"] == rows, record.to_dict()
    return elapsed


def _bare_producer(bootstrap: str, compression: str) -> tuple[Any, list[int], Any]:
    """A bare confluent-kafka producer with PSTT's producer properties, its count of
    acknowledged messages and the delivery callback that keeps the count."""
    from confluent_kafka import Producer

    from pstt_sinks_kafka.models import KafkaConnectionConfig
    from pstt_sinks_kafka.producer import producer_config

    conf = producer_config(KafkaConnectionConfig(name="b", bootstrap_servers=[bootstrap]),
                           {"KAFKA_COMPRESSION_TYPE": compression})
    acked = [0]

    def on_delivery(err: Any, msg: Any) -> None:
        if err is None:
            acked[0] += 1

    return Producer(conf), acked, on_delivery


def _send_all(producer: Any, topic: str, messages: Iterable[tuple[bytes, bytes]],
              on_delivery: Any) -> None:
    # The tightest loop: no poll per message, reports served only when the queue is full
    # and by the final flush.
    produce = producer.produce
    for value, key in messages:
        while True:
            try:
                produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(300)


def run_bare(bootstrap: str, *, topic: str, compression: str,
             payloads: list[tuple[bytes, bytes]]) -> float:
    producer, acked, on_delivery = _bare_producer(bootstrap, compression)
    t0 = time.perf_counter()
    _send_all(producer, topic, payloads, on_delivery)
    elapsed = time.perf_counter() - t0
    assert acked[0] == len(payloads), acked
    return elapsed


def run_bare_json(bootstrap: str, *, topic: str, compression: str, cols: list[str],
                  rows: list[tuple[Any, ...]]) -> float:
    """Reference only: the bare producer that also serialises (stdlib json) in the loop."""
    producer, acked, on_delivery = _bare_producer(bootstrap, compression)
    t0 = time.perf_counter()
    messages = ((json.dumps(dict(zip(cols, row, strict=True)), separators=(",", ":")).encode(),
                 str(row[0]).encode()) for row in rows)
    _send_all(producer, topic, messages, on_delivery)
    elapsed = time.perf_counter() - t0
    assert acked[0] == len(rows), acked
    return elapsed


def send_latency(bootstrap: str, work: Path, sends: int) -> list[float]:
    """Latency of single sends through the Kafka gateway (what POST /api/kafka/send calls)."""
    from pstt_sinks_kafka.runtime import runtime

    home = work / "send-home"
    (home / "exports").mkdir(parents=True, exist_ok=True)
    (home / "connections.json").write_text(json.dumps(
        {"databases": [], "kafka_connections": [{"name": "b", "bootstrap_servers": [bootstrap]}]}))
    pstt = Pstt(home, environ={}, logs=False)
    service = runtime(pstt.plugin_env("kafka")).gateway

    async def go() -> list[float]:
        await service.send("b", "bench-send", {"warm": "up"})
        out = []
        for i in range(sends):
            res = await service.send("b", "bench-send", {"i": i, "text": "x" * 100}, key=str(i))
            assert res["success"], res
            out.append(res["latency_ms"])
        return out

    try:
        return asyncio.run(go())
    finally:
        pstt.close()


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
                futures = [await producer.send(topic, value=dict(zip(cols, row, strict=True)),
                                                   key=row[0])
                           for row in rows[start:start + 100]]
                await asyncio.gather(*futures)
            return time.perf_counter() - t0
        finally:
            await producer.stop()

    return asyncio.run(main())


def fresh_broker(work: Path, fn: Callable[[str], T]) -> T:
    broker = start_broker(work)
    try:
        return fn(broker.bootstrap)
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of pstt and bare, interleaved; the median counts")
    parser.add_argument("--compression", default="none", choices=["none", "gzip"],
                        help="the same for all contenders (aiokafka here has only none/gzip)")
    parser.add_argument("--skip-aiokafka", action="store_true")
    parser.add_argument("--sends", type=int, default=1000,
                        help="single sends timed through the Kafka gateway (0: skip)")
    parser.add_argument("--verify", action="store_true", help="consume the PSTT topic and count")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pstt-kafka-bench-"))
    try:
        db = work / "bench.db"
        t0 = time.perf_counter()
        make_table(db, args.rows)
        print(f"table: {args.rows:,} rows in {time.perf_counter() - t0:.1f} s; "
              f"compression {args.compression}; {args.repeat} interleaved run(s) each")
        cols, rows = read_rows(db)
        # The same bytes PSTT sends, serialised before the clock starts.
        payloads = [(encode_json(dict(zip(cols, row, strict=True))), str(row[0]).encode())
                    for row in rows]

        def pstt_run(bootstrap: str) -> float:
            elapsed = run_pstt(work, bootstrap, "bench-pstt", args.compression, args.rows)
            if args.verify:
                found = len(consume_all(bootstrap, "bench-pstt", expected=args.rows, timeout=300))
                print(f"  verify: consumer found {found:,} messages")
            return elapsed

        times: dict[str, list[float]] = {"pstt": [], "bare": []}
        for _ in range(args.repeat):
            times["pstt"].append(fresh_broker(work, pstt_run))
            times["bare"].append(fresh_broker(
                work, functools.partial(run_bare, topic="bench-bare",
                                        compression=args.compression, payloads=payloads)))
        payloads.clear()
        times["bare+json"] = [fresh_broker(work, functools.partial(
            run_bare_json, topic="bench-bare-json", compression=args.compression, cols=cols,
            rows=rows))]
        if not args.skip_aiokafka:
            times["aiokafka"] = [fresh_broker(
                work, lambda b: run_aiokafka(b, "bench-aio", args.compression, cols, rows))]
        median = {name: statistics.median(ts) for name, ts in times.items()}
        for name, ts in times.items():
            print(f"{name:<9} median {median[name]:7.2f} s  {args.rows / median[name]:>10,.0f} msg/s"
                  f"   (runs: {', '.join(f'{t:.2f}' for t in ts)})")
        print(f"pstt / bare confluent-kafka throughput: {median['bare'] / median['pstt']:.2f}"
              f"  (best of each: {min(times['bare']) / min(times['pstt']):.2f}; target >= 0.80)")
        print(f"pstt / bare producer serialising in its loop (reference): "
              f"{median['bare+json'] / median['pstt']:.2f}")
        if "aiokafka" in median:
            print(f"pstt / aiokafka throughput:             "
                  f"{median['aiokafka'] / median['pstt']:.2f}  (target >= 3.00)")
        if args.sends:
            lat = sorted(fresh_broker(work, lambda b: send_latency(b, work, args.sends)))
            print(f"single send (gateway, {args.sends}x): p50 {percentile(lat, 0.5):.2f} ms"
                  f"  p99 {percentile(lat, 0.99):.2f} ms  avg {sum(lat) / len(lat):.2f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
