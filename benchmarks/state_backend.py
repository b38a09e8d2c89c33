"""One run's bookkeeping — fire claim + journal ``running`` record + final record + counters —
with 1k, 10k and 100k records already in the history: the files backend vs SQLite vs
PostgreSQL (``PSTT_STATE_URL``), through the facade's own objects, in one process.

    python benchmarks/state_backend.py                       # 1k, 10k, 100k; 5 runs each
    python benchmarks/state_backend.py --sizes 1000 --repeat 3 --pg ''   # quick, no PostgreSQL

The files backend rewrites ``scheduler_history.json`` whole for every record; the SQL
backends insert one row. The ratio column is each backend's median over the files backend's
at the same size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from pstt_core import Pstt
from pstt_core.demo import demo_connections
from pstt_core.models import RunInfo, RunRecord, iso, utcnow
from pstt_core.sql_state import schema
from pstt_core.sql_state.tables import claims, runs

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _record(i: int) -> dict[str, object]:
    at = (datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=i)).isoformat()
    return {"export_id": f"old-{i}", "schedule_id": f"s{i % 20}", "sharing_mode": "filesystem",
            "status": "success", "started_at": at, "finished_at": at, "duration_sec": 0.5,
            "rows": 100, "error": None, "schedule_name": "old", "trigger": "schedule",
            "scheduled_at": at, "instance": "bench/old", "path": f"/srv/out/{i}.csv"}


def _home(root: Path) -> Path:
    (root / "exports").mkdir(parents=True)
    conn = demo_connections()
    conn["databases"][0]["url"] = f"sqlite:///{root / 'demo.db'}"
    conn["databases"][0]["create_if_missing"] = True
    (root / "connections.json").write_text(json.dumps(conn))
    (root / "exports" / "schedules.json").write_text(json.dumps({"schedules": [{
        "id": "bench", "name": "bench", "connection": "demo", "query": "SELECT 1 AS one",
        "trigger": {"type": "interval", "seconds": 3600}, "sharing_mode": "filesystem",
        "sink_options": {}}]}))
    return root


def _prefill(kind: str, root: Path, url: str, size: int) -> None:
    records = [_record(i) for i in range(size)]
    if kind == "files":
        (root / "exports" / "scheduler_history.json").write_text(json.dumps(records))
        return
    engine = sa.create_engine(url)
    schema.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(runs.delete())
        conn.execute(claims.delete())
        conn.execute(runs.insert(), [{
            "export_id": r["export_id"], "schedule_id": r["schedule_id"],
            "sharing_mode": "filesystem", "status": "success", "started_at": r["started_at"],
            "started_ts": datetime.fromisoformat(str(r["started_at"])).timestamp(),
            "scheduled_at": r["scheduled_at"], "instance": "bench/old", "rows": 100,
            "duration_sec": 0.5, "record": json.dumps(r)} for r in records])
    engine.dispose()


def _bookkeeping(pstt: Pstt, n: int) -> float:
    """Seconds for one run's bookkeeping (no query, no sink)."""
    schedule = pstt.schedules.get("bench")
    fire = datetime(2030, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=n)
    t0 = time.perf_counter()
    assert pstt.claims.claim("bench", fire)
    run = RunInfo.new(schedule, trigger="schedule", scheduled_at=fire)
    pstt.journal.begin(run)
    now = iso(utcnow()) or ""
    pstt.journal.complete(RunRecord(
        export_id=run.export_id, schedule_id="bench", sharing_mode="filesystem",
        status="success", started_at=now, finished_at=now, duration_sec=0.01, rows=1,
        trigger="schedule", scheduled_at=iso(fire)))
    return time.perf_counter() - t0


def measure(kind: str, url: str, size: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = _home(Path(tmp) / "home")
        if kind == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'state.db'}"
        _prefill(kind, root, url, size)
        env = {"PSTT_HISTORY_MAX_RECORDS": str(size + repeat + 10)}
        if kind != "files":
            env["PSTT_STATE_URL"] = url
        pstt = Pstt(root, environ=env, logs=False)
        if kind != "files":  # the schedules are in the state database
            pstt.schedules.file.save(json.loads((root / "exports" / "schedules.json").read_text()))
        try:
            _bookkeeping(pstt, -1)  # warm-up: caches, connections
            times = [_bookkeeping(pstt, i) for i in range(repeat)]
            total = pstt.history.query(limit=1)[0]
            assert total == size + repeat + 1, (kind, total)
        finally:
            pstt.close()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default=DEFAULT_PG,
                        help="PostgreSQL URL of a database to create a scratch one in ('' skips)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ["files", "sqlite"]
    pg_admin = None
    scratch = ""
    if args.pg:
        try:
            pg_admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
            name = "pstt_bench_" + uuid.uuid4().hex[:8]
            with pg_admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            scratch = sa.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
            kinds.append("postgresql")
        except Exception as exc:
            print(f"PostgreSQL skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            pg_admin = None
    print(f"one run's bookkeeping (claim + journal + record + counters), median of {args.repeat}")
    print(f"{'backend':<11} {'history':>9} {'ms':>9} {'ratio':>7}")
    try:
        for size in sizes:
            base = None
            for kind in kinds:
                median = measure(kind, scratch, size, args.repeat)
                base = base if base is not None else median
                print(f"{kind:<11} {size:>9,} {median * 1000:>9.2f} {median / base:>7.2f}",
                      flush=True)
    finally:
        if pg_admin is not None:
            with pg_admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            pg_admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
