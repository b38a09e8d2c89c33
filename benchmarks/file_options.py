"""What the options for files people open cost, as ratios against a baseline in the same run.

- CSV: ``locale: "excel-it"`` (decimal comma: every float and decimal converted in Python)
  against the default CSV, on rows with floats and decimals.
- XLSX: ``iso_text_dates`` on against off, on rows whose timestamps are ISO text (SQLite).
- Kafka: bytes per message for each choice of ``metadata_fields`` against the row alone, on
  the demo's ``orders`` table and the demo schedule's query (the envelope is built by the
  sink's own ``envelope()``; no broker is needed to count bytes).

Each writer variant runs ``--repeat`` times, interleaved; the best CPU time is reported.

    PYTHONPATH=src python benchmarks/file_options.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from pstt_core import FormatOptions, RunInfo, Schedule, Trigger
from pstt_core.builtin import CSV, XLSX
from pstt_core.demo import DEMO_QUERY, create_demo_database
from pstt_core.formats import OutputFormat
from pstt_sinks_kafka.rowjson import encode_json
from pstt_sinks_kafka.sink import envelope

BATCH = 10_000
COLUMNS = ["id", "customer", "price", "amount", "ordered_at", "note"]


def batches(rows: int) -> Iterator[list[tuple[Any, ...]]]:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for first in range(0, rows, BATCH):
        yield [(i, f"customer {i % 97}", i / 7, Decimal(i % 100_000) / 100,
                (start + timedelta(minutes=i)).isoformat(), "a note" if i % 3 else None)
               for i in range(first, min(first + BATCH, rows))]


def cpu_seconds(fmt: OutputFormat, options: FormatOptions, data: list[list[tuple[Any, ...]]]) -> float:
    with tempfile.TemporaryFile() as out:  # XlsxWriter needs a seekable file
        t0 = time.process_time()
        writer = fmt.open(out, COLUMNS, options)
        for batch in data:
            writer.write(batch)
        writer.close()
        return time.process_time() - t0


def writers(rows: int, repeat: int) -> None:
    data = list(batches(rows))
    variants = {
        "csv default": (CSV, FormatOptions()),
        "csv excel-it": (CSV, FormatOptions(locale="excel-it")),
        "xlsx iso_text_dates off": (XLSX, FormatOptions(iso_text_dates=False)),
        "xlsx iso_text_dates on": (XLSX, FormatOptions()),
    }
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(repeat):
        for name, (fmt, options) in variants.items():
            best[name] = min(best[name], cpu_seconds(fmt, options, data))
    for name, seconds in best.items():
        print(f"{name:26} {seconds:7.3f} CPU s  {rows / seconds:>10,.0f} rows/CPU s")
    print(f"ratio csv excel-it / default:        {best['csv excel-it'] / best['csv default']:.2f}")
    print(f"ratio xlsx iso_text_dates on / off:  "
          f"{best['xlsx iso_text_dates on'] / best['xlsx iso_text_dates off']:.2f}")


def message_sizes() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        create_demo_database(db)
        con = sqlite3.connect(db)
        cur = con.execute("SELECT * FROM orders ORDER BY id")
        columns = [c[0] for c in cur.description]
        values = [encode_json(dict(zip(columns, r, strict=True))) for r in cur]
        con.close()
    schedule = Schedule(id="demo", name="demo", connection="demo", query=DEMO_QUERY,
                        trigger=Trigger("interval", seconds=60), sharing_mode="kafka")
    run = RunInfo.new(schedule)
    base = sum(map(len, values)) / len(values)
    print(f"\nKafka bytes per message ({len(values)} rows of orders, "
          f"a {len(DEMO_QUERY)}-character query):")
    print(f"{'(no metadata)':58} {base:6.0f}  1.0")
    choices = [list(RunInfo.METADATA_FIELDS), list(RunInfo.METADATA_FIELDS[1:]), ["export_id"]]
    for fields in choices:
        prefix, suffix = envelope(run, fields)
        size = base + len(prefix) + len(suffix)
        print(f"{', '.join(fields):58} {size:6.0f}  {size / base:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    writers(args.rows, args.repeat)
    message_sizes()


if __name__ == "__main__":
    main()
