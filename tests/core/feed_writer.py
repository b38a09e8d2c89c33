"""A writer process for the incremental-feed tests: inserts rows into a table for a while.

``python -m tests.core.feed_writer URL TABLE SECONDS MODE SEED [LATE_SEC]``

MODE ``ties``: each transaction inserts 1–6 rows with one timestamp (taken at the start of
the transaction, from the database's clock — SQLite: the application's, as ISO text in UTC,
before waiting for the write lock), and
about a third of the transactions wait up to LATE_SEC before committing, so their rows are
committed after rows stamped later. MODE ``serial``: one row per transaction, committed at
once (an integer cursor's use). Prints the number of rows written.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timezone

import sqlalchemy as sa


def main(url: str, table: str, seconds: float, mode: str, seed: int, late: float) -> int:
    rnd = random.Random(seed)
    if url.startswith("sqlite:///"):
        return _sqlite(url[len("sqlite:///"):], table, seconds, mode, rnd, seed, late)
    engine = sa.create_engine(url)
    stamp = "now()" if engine.dialect.name == "postgresql" else "NOW(6)"
    written = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        count = rnd.randint(1, 6) if mode == "ties" else 1
        with engine.begin() as conn:  # PostgreSQL now(): the transaction's start
            rows = ", ".join(f"({stamp}, 'w{seed}-{written + i}')" for i in range(count))
            conn.execute(sa.text(f"INSERT INTO {table} (ts, v) VALUES {rows}"))
            if mode == "ties" and rnd.random() < 0.35:
                time.sleep(rnd.uniform(0, late))  # committed after rows stamped later
        written += count
        time.sleep(rnd.uniform(0.005, 0.05))
    engine.dispose()
    print(written)
    return 0


def _sqlite(path: str, table: str, seconds: float, mode: str, rnd: random.Random, seed: int,
            late: float) -> int:
    """SQLite: the application stamps its rows, then waits for the write lock (another
    writer's transaction, at most ``late`` long), so rows are committed up to ``2 * late``
    after their stamp, and after rows the other writer stamped later."""
    import sqlite3

    con = sqlite3.connect(path, isolation_level=None, timeout=60)
    written = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        count = rnd.randint(1, 6) if mode == "ties" else 1
        ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        con.execute("BEGIN IMMEDIATE")
        con.executemany(f"INSERT INTO {table} (ts, v) VALUES (?, ?)",
                        [(ts, f"w{seed}-{written + i}") for i in range(count)])
        if mode == "ties" and rnd.random() < 0.35:
            time.sleep(rnd.uniform(0, late))
        con.execute("COMMIT")
        written += count
        time.sleep(rnd.uniform(0.005, 0.05))
    con.close()
    print(written)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], args[1], float(args[2]), args[3], int(args[4]),
                  float(args[5]) if len(args) > 5 else 0.0))
