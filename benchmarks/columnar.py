"""The columnar path against the tools users compare PSTT with: whole processes, alternated runs,
medians, ratios measured in the same run.

    python benchmarks/columnar.py                       # 1,000,000 rows, 5 rounds, everything
    python benchmarks/columnar.py --rows 100000 --rounds 3 --only sqlite-csv,startup

Scenarios (``--only``), each contender a process of its own, timed from start to exit:

- ``sqlite-csv``  ``pstt run`` (columnar) and ``pstt run`` with ``PSTT_COLUMNAR=off`` (the row
  path) vs ``sqlite3 -csv -header db 'SELECT …' > f.csv`` and a pandas script
  (``read_sql`` on ``sqlite3`` + ``to_csv``). Targets: sqlite3 / PSTT ≥ 1.0, pandas / PSTT ≥ 4.
- ``pg-csv``      ``pstt run`` vs ``psql -c "\\copy (SELECT …) TO 'f.csv' CSV HEADER"``.
  Target: psql / PSTT ≥ 0.8.
- ``kafka``       ``pstt run`` of a Kafka schedule (and its row path) vs a bare confluent-kafka
  producer process sending the same messages, serialised beforehand (read from a file),
  with PSTT's producer properties. A fresh tansu broker per process. Target: bare / PSTT ≥ 0.6.
- ``memory``      peak RSS of ``pstt run`` at ``--rows`` vs ``--small`` rows on every path.
  Target ≤ 1.3.
- ``startup``     ``pstt --version`` and a 10-row ``pstt run`` vs ``python -c "import sqlalchemy"``.

The table is the one of the issue: 5 columns (integer id, text, real, ISO timestamp text,
text with 40 % NULL, commas, quotes, line breaks and non-ASCII text).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
WORDS = ("alpha", "beta", "gamma", "Müller", "café", "東京", "o'brien", 'say "hi"', "a,b",
         "multi\nline")
TARGETS = {"sqlite3 / pstt": 1.0, "pandas / pstt": 4.0, "psql / pstt": 0.8,
           "bare / pstt": 0.6}
GROWTH_TARGET = 1.3
PG_URL = os.environ.get("PSTT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def create_sqlite(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, "
                "amount REAL NOT NULL, created_at TEXT NOT NULL, note TEXT)")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for base in range(0, rows, 50_000):
        con.executemany("INSERT INTO events VALUES (?,?,?,?,?)", [
            (i, f"customer-{rnd.randrange(10_000):05d} {rnd.choice(WORDS)}",
             rnd.randrange(1, 10_000_000) / 100,
             (start + timedelta(seconds=i * 7)).isoformat(timespec="seconds"),
             None if rnd.random() < 0.4 else " ".join(rnd.choices(WORDS, k=rnd.randint(1, 5))))
            for i in range(base + 1, min(base + 50_000, rows) + 1)])
    con.commit()
    con.close()


# -- processes --------------------------------------------------------------------------------

def timed(argv: list[str], *, env: dict[str, str], stdout: Path | None = None) -> dict[str, float]:
    """Wall time and peak RSS of one whole process (``os.wait4``: its own rusage)."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if stdout:
        out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} … failed ({proc.returncode}):\n{err[-3000:]}")
    return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024,
            "cpu": usage.ru_utime + usage.ru_stime}


# The interpreter PSTT runs with (--pstt-python): by default this one. A virtual environment
# with only ``pip install ".[fast]"`` is what a user has; this one may hold numpy (pandas
# needs it), which pyarrow imports whenever it is installed (0.1 s of every start).
PSTT_PYTHON = [sys.executable]


def pstt_argv(home: Path, *args: str) -> list[str]:
    return [PSTT_PYTHON[0], "-m", "pstt_core", "--home", str(home), *args]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSTT_", "KAFKA_"))}
    # an installed pstt has its bytecode (pip compiles it); without it every process would
    # compile PSTT's sources again (0.1-0.3 s that no user pays)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def write_home(home: Path, databases: list[dict[str, Any]], schedules: list[dict[str, Any]],
               **sections: Any) -> None:
    if home.exists():
        shutil.rmtree(home)
    (home / "exports").mkdir(parents=True)
    (home / "connections.json").write_text(json.dumps({"databases": databases, **sections}))
    common = {"trigger": {"type": "cron", "expression": "0 0 1 1 *"}, "enabled": False}
    (home / "exports" / "schedules.json").write_text(json.dumps(
        {"schedules": [{**common, "name": s["id"], **s} for s in schedules]}))


def csv_schedule(sid: str, connection: str, query: str) -> dict[str, Any]:
    return {"id": sid, "connection": connection, "query": query, "sharing_mode": "filesystem",
            "sink_options": {"format": "csv", "filename": f"{sid}.csv", "overwrite": True}}


Contender = Callable[[], dict[str, float]]


def alternate(contenders: dict[str, Contender], rounds: int) -> dict[str, dict[str, float]]:
    """Every contender once per round, in turn (a busy machine slows them alike); medians."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for n in range(rounds):
        order = list(contenders) if n % 2 == 0 else list(reversed(contenders))
        for name in order:
            samples[name].append(contenders[name]())
    return {name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
            for name, runs in samples.items()}


def report(title: str, results: dict[str, dict[str, float]], rows: int,
           ratios: list[tuple[str, str, str]]) -> dict[str, Any]:
    print(f"\n== {title} ({rows:,} rows; medians)")
    print(f"{'contender':<22}{'seconds':>9}{'rows/s':>12}{'CPU s':>8}{'peak RSS MB':>13}")
    for name, r in results.items():
        print(f"{name:<22}{r['seconds']:>9.2f}{rows / r['seconds']:>12,.0f}{r['cpu']:>8.2f}"
              f"{r['rss_mb']:>13.1f}")
    out: dict[str, Any] = {"results": results, "ratios": {}}
    for label, peer, ours in ratios:
        ratio = results[peer]["seconds"] / results[ours]["seconds"]
        target = TARGETS.get(label)
        verdict = "" if target is None else f"  (target >= {target}) " + (
            "MET" if ratio >= target else "MISSED")
        print(f"  {label:<28} {ratio:5.2f}x{verdict}")
        out["ratios"][label] = ratio
    return out


# -- scenarios --------------------------------------------------------------------------------

def sqlite_csv(work: Path, db: Path, rows: int, rounds: int) -> dict[str, Any]:
    home = work / "home-sqlite"
    query = "SELECT id, customer, amount, created_at, note FROM events"
    write_home(home, [{"name": "bench", "url": f"sqlite:///{db}"}],
               [csv_schedule("csv", "bench", query)])
    out = work / "out"
    out.mkdir(exist_ok=True)
    pandas_script = ("import sqlite3, sys, pandas as pd; "
                     "pd.read_sql(sys.argv[2], sqlite3.connect(sys.argv[1]))"
                     ".to_csv(sys.argv[3], index=False)")
    contenders: dict[str, Contender] = {
        "pstt (columnar)": lambda: timed(pstt_argv(home, "run", "csv", "--no-progress"),
                                         env=base_env()),
        "pstt (row path)": lambda: timed(pstt_argv(home, "run", "csv", "--no-progress"),
                                         env=base_env(PSTT_COLUMNAR="off")),
        "sqlite3 CLI": lambda: timed(["sqlite3", "-csv", "-header", str(db), query],
                                     env=base_env(), stdout=out / "cli.csv"),
        "pandas": lambda: timed([sys.executable, "-c", pandas_script, str(db), query,
                                 str(out / "pandas.csv")], env=base_env()),
    }
    results = alternate(contenders, rounds)
    return report("SQLite → CSV", results, rows, [
        ("sqlite3 / pstt", "sqlite3 CLI", "pstt (columnar)"),
        ("pandas / pstt", "pandas", "pstt (columnar)"),
        ("row path / columnar", "pstt (row path)", "pstt (columnar)")])


def pg_csv(work: Path, rows: int, rounds: int) -> dict[str, Any]:
    import sqlalchemy as sa

    table = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"CREATE TABLE {table} AS SELECT g AS id, 'customer-' || (g % 10000) || ' café' AS "
            "customer, (g % 1000000) / 100.0::float8 AS amount, "
            "timestamptz '2026-01-01 00:00:00+00' + g * interval '7 seconds' AS created_at, "
            "CASE WHEN g % 5 < 2 THEN NULL ELSE 'note, \"quoted\" ' || g END AS note "
            f"FROM generate_series(1, {rows}) g"))
    try:
        url = sa.engine.make_url(PG_URL)
        home = work / "home-pg"
        query = f"SELECT id, customer, amount, created_at, note FROM {table}"
        write_home(home, [{"name": "pg", "url": url.render_as_string(hide_password=False)}],
                   [csv_schedule("pg", "pg", query)])
        psql = ["psql", "-X", "-q", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                "-U", url.username or "postgres", "-d", url.database or "postgres",
                "-c", f"\\copy ({query}) TO '{work / 'psql.csv'}' CSV HEADER"]
        psql_env = base_env(**({"PGPASSWORD": str(url.password)} if url.password else {}))
        contenders: dict[str, Contender] = {
            "pstt (columnar)": lambda: timed(pstt_argv(home, "run", "pg", "--no-progress"),
                                             env=base_env()),
            "pstt (row path)": lambda: timed(pstt_argv(home, "run", "pg", "--no-progress"),
                                             env=base_env(PSTT_COLUMNAR="off")),
            "psql \\copy": lambda: timed(psql, env=psql_env),
        }
        results = alternate(contenders, rounds)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
    return report("PostgreSQL → CSV", results, rows, [
        ("psql / pstt", "psql \\copy", "pstt (columnar)"),
        ("row path / columnar", "pstt (row path)", "pstt (columnar)")])


BARE_PRODUCER = """
import json, sys
from confluent_kafka import Producer
conf, topic, path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "rb") as fh:
    lines = fh.read().split(b"\\n")
keys, values = lines[0::2], lines[1::2]
acked = [0]
def on_delivery(err, msg):
    if err is None:
        acked[0] += 1
producer = Producer(conf)
produce = producer.produce
for value, key in zip(values, keys):
    while True:
        try:
            produce(topic, value, key, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.01)
producer.flush(300)
assert acked[0] == len(values), acked
"""


def kafka(work: Path, db: Path, rows: int, rounds: int) -> dict[str, Any]:
    sys.path[:0] = [str(SRC), str(ROOT)]
    from tests.kafka_broker import start_broker

    from pstt_sinks_kafka.models import KafkaConnectionConfig
    from pstt_sinks_kafka.producer import producer_config
    from pstt_sinks_kafka.rowjson import encode_json

    query = "SELECT id, customer, amount, created_at, note FROM events"
    payloads = work / "payloads.bin"
    con = sqlite3.connect(db)
    cur = con.execute(query)
    cols = [d[0] for d in cur.description]
    with open(payloads, "wb") as fh:  # key line, value line (JSON has no raw line breaks)
        for row in cur:
            fh.write(b"%d\n" % row[0] + encode_json(dict(zip(cols, row, strict=True))) + b"\n")
    con.close()

    def with_broker(run: Callable[[str, str], dict[str, float]]) -> Contender:
        def contender() -> dict[str, float]:
            brokers = work / f"broker-{uuid.uuid4().hex[:6]}"
            brokers.mkdir()
            broker = start_broker(brokers)
            try:
                return run(f"127.0.0.1:{broker.port}", f"bench-{uuid.uuid4().hex[:8]}")
            finally:
                broker.stop()
                shutil.rmtree(brokers, ignore_errors=True)
        return contender

    def pstt(columnar: str) -> Callable[[str, str], dict[str, float]]:
        def run(bootstrap: str, topic: str) -> dict[str, float]:
            home = work / "home-kafka"
            write_home(home, [{"name": "bench", "url": f"sqlite:///{db}"}], [{
                "id": "k", "connection": "bench", "query": query, "sharing_mode": "kafka",
                "sink_options": {"connection": "local", "topic": topic, "key_field": "id"}}],
                kafka_connections=[{"name": "local", "bootstrap_servers": [bootstrap]}])
            return timed(pstt_argv(home, "run", "k", "--no-progress"),
                         env=base_env(PSTT_COLUMNAR=columnar))
        return run

    def bare(bootstrap: str, topic: str) -> dict[str, float]:
        conf = producer_config(KafkaConnectionConfig(name="b", bootstrap_servers=[bootstrap]), {})
        return timed([sys.executable, "-c", BARE_PRODUCER, json.dumps(conf), topic,
                      str(payloads)], env=base_env())

    results = alternate({"pstt (columnar)": with_broker(pstt("auto")),
                         "pstt (row path)": with_broker(pstt("off")),
                         "bare producer": with_broker(bare)}, rounds)
    return report("SQLite → Kafka (tansu, acks=all, idempotent, snappy)", results, rows, [
        ("bare / pstt", "bare producer", "pstt (columnar)"),
        ("bare / pstt row path", "bare producer", "pstt (row path)")])


def memory(work: Path, db: Path, rows: int, small: int, rounds: int,
           pg: bool) -> dict[str, Any]:
    """Peak RSS of whole ``pstt run`` processes: --rows against --small rows, every path."""
    home = work / "home-memory"
    query = "SELECT id, customer, amount, created_at, note FROM events"
    schedules = [csv_schedule("big", "bench", query),
                 csv_schedule("small", "bench", f"{query} WHERE id <= {small}")]
    for fmt in ("jsonl", "parquet"):
        for sid, q in ((f"big-{fmt}", query), (f"small-{fmt}", f"{query} WHERE id <= {small}")):
            schedules.append({**csv_schedule(sid, "bench", q),
                              "sink_options": {"format": fmt, "filename": f"{sid}.{fmt}",
                                               "overwrite": True}})
    write_home(home, [{"name": "bench", "url": f"sqlite:///{db}"}], schedules)
    print(f"\n== peak RSS of pstt run, {rows:,} vs {small:,} rows (medians)")
    out: dict[str, Any] = {}
    for path, env in (("columnar", base_env()), ("row path", base_env(PSTT_COLUMNAR="off"))):
        for suffix in ("", "-jsonl", "-parquet"):
            big = alternate({"big": lambda s=suffix, e=env: timed(
                pstt_argv(home, "run", f"big{s}", "--no-progress"), env=e),
                "small": lambda s=suffix, e=env: timed(
                pstt_argv(home, "run", f"small{s}", "--no-progress"), env=e)}, rounds)
            growth = big["big"]["rss_mb"] / big["small"]["rss_mb"]
            name = f"{path} {suffix.strip('-') or 'csv'}"
            print(f"  {name:<22} {big['big']['rss_mb']:7.1f} MB / {big['small']['rss_mb']:7.1f} MB"
                  f" = {growth:4.2f}x  (target <= {GROWTH_TARGET}) "
                  + ("MET" if growth <= GROWTH_TARGET else "MISSED"))
            out[name] = growth
    return out


def startup(work: Path, db: Path, rounds: int) -> dict[str, Any]:
    home = work / "home-startup"
    write_home(home, [{"name": "bench", "url": f"sqlite:///{db}"}],
               [csv_schedule("ten", "bench", "SELECT * FROM events LIMIT 10")])
    results = alternate({
        "python -c 'import sqlalchemy'": lambda: timed(
            [PSTT_PYTHON[0], "-c", "import sqlalchemy"], env=base_env()),
        "pstt --version": lambda: timed(pstt_argv(home, "--version"), env=base_env()),
        "pstt run (10 rows)": lambda: timed(pstt_argv(home, "run", "ten", "--no-progress"),
                                            env=base_env()),
    }, rounds)
    print("\n== start-up (medians)")
    for name, r in results.items():
        print(f"  {name:<30} {r['seconds']:6.3f} s  {r['rss_mb']:6.1f} MB")
    modules = subprocess.run(
        [PSTT_PYTHON[0], "-X", "importtime", "-m", "pstt_core", "--home", str(home), "run", "ten",
         "--no-progress"], env=base_env(), capture_output=True, text=True, check=False).stderr
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in modules.splitlines()
              if line.startswith("import time:") and "|" in line}
    unwanted = sorted(loaded & {"starlette", "uvicorn", "jinja2", "confluent_kafka",
                                "aiosmtplib", "xlsxwriter", "prometheus_client", "pandas"})
    print(f"  imported by a CSV pstt run, of the web stack and unused sinks: {unwanted or 'none'}")
    return {"results": results, "unwanted_imports": unwanted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="sqlite-csv,pg-csv,kafka,memory,startup")
    parser.add_argument("--workdir", help="keep the database here (default: a temp dir)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--pstt-python", default=sys.executable,
                        help="the Python PSTT runs with, e.g. a venv with only "
                             "'pip install \".[fast]\"' (default: this one)")
    args = parser.parse_args(argv)
    PSTT_PYTHON[0] = args.pstt_python
    only = set(args.only.split(","))
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pstt-columnar-") as tmp:
        work = Path(args.workdir or tmp).resolve()
        work.mkdir(parents=True, exist_ok=True)
        db = work / f"events_{args.rows}.db"
        if not db.exists():
            create_sqlite(db, args.rows)
        if "sqlite-csv" in only:
            figures["sqlite-csv"] = sqlite_csv(work, db, args.rows, args.rounds)
        if "pg-csv" in only:
            figures["pg-csv"] = pg_csv(work, args.rows, args.rounds)
        if "kafka" in only:
            figures["kafka"] = kafka(work, db, args.rows, args.rounds)
        if "memory" in only:
            figures["memory"] = memory(work, db, args.rows, args.small, max(1, args.rounds // 2),
                                       "pg-csv" in only)
        if "startup" in only:
            figures["startup"] = startup(work, db, args.rounds)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
