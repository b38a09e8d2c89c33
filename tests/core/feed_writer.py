"""A writer process for the incremental-feed tests: inserts rows into a table for a while.

``python -m tests.core.feed_writer URL TABLE SECONDS MODE SEED [LATE_SEC]``

MODE ``ties``: each transaction inserts 1–6 rows with one timestamp (taken at the start of
the transaction, from the database's clock — SQLite: the application's, as ISO text), and
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
    engine = sa.create_engine(url)
    dialect = engine.dialect.name
    stamp = {"postgresql": "now()", "mysql": "NOW(6)", "mariadb": "NOW(6)"}.get(dialect)
    written = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        count = rnd.randint(1, 6) if mode == "ties" else 1
        with engine.begin() as conn:
            if stamp is None:  # SQLite: ISO text, UTC, as PSTT and the demo write times
                ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
                rows = ", ".join(f"('{ts}', 'w{seed}-{written + i}')" for i in range(count))
            else:
                rows = ", ".join(f"({stamp}, 'w{seed}-{written + i}')" for i in range(count))
            conn.execute(sa.text(f"INSERT INTO {table} (ts, v) VALUES {rows}"))
            if mode == "ties" and rnd.random() < 0.35:
                time.sleep(rnd.uniform(0, late))  # committed after rows stamped later
        written += count
        time.sleep(rnd.uniform(0.005, 0.05))
    engine.dispose()
    print(written)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], args[1], float(args[2]), args[3], int(args[4]),
                  float(args[5]) if len(args) > 5 else 0.0))
