"""Memory and speed of building e-mail attachments, as ratios against a small baseline.

The attachment is streamed batch by batch through a core format into a temporary file and
zipped from it, so peak Python memory must not grow with the number of rows. Prints, for a
baseline of N rows and for 10×N rows: build time, rows/s, peak traced memory and file size,
then the ratios (10N / N). A ratio of peak memory near 1 means memory is bounded by the
batch size; the time ratio near 10 means linear cost.

    PYTHONPATH=src python benchmarks/email_attachment.py [--rows 20000] [--format csv]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from pstt_core import FormatOptions
from pstt_core.builtin import CSV, XLSX
from pstt_sinks_email.attachment import Attachment

BATCH = 5000
FORMATS = {"csv": CSV, "xlsx": XLSX}


def batches(rows: int):  # type: ignore[no-untyped-def]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for first in range(0, rows, BATCH):
        yield [(i, f"customer {i % 97}", Decimal(i % 1000) / 7, start + timedelta(minutes=i),
                "note with, a comma" if i % 3 else None) for i in range(first, min(first + BATCH, rows))]


def measure(fmt_name: str, rows: int) -> dict[str, float]:
    tracemalloc.start()
    t0 = time.perf_counter()
    att = Attachment(FORMATS[fmt_name], ["id", "customer", "amount", "at", "note"], FormatOptions(),
                     max_bytes=1 << 40, zip_above=0)
    try:
        for batch in batches(rows):
            att.write(batch)
        _, _, _, size = att.finish("bench")
    finally:
        att.close()
    took = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": rows, "seconds": took, "rows_per_s": rows / took, "peak_mib": peak / 2**20,
            "zip_bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="baseline rows (N)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="csv")
    args = parser.parse_args()
    base = measure(args.format, args.rows)
    big = measure(args.format, args.rows * 10)
    for label, m in (("baseline N", base), ("10 x N", big)):
        print(f"{label:>10}: {m['rows']:>9,} rows  {m['seconds']:7.2f} s  "
              f"{m['rows_per_s']:>10,.0f} rows/s  peak {m['peak_mib']:6.2f} MiB  "
              f"zip {m['zip_bytes']:>12,} B")
    print(f"ratios 10N/N: time {big['seconds'] / base['seconds']:.2f}  "
          f"peak memory {big['peak_mib'] / base['peak_mib']:.2f}  "
          f"size {big['zip_bytes'] / base['zip_bytes']:.2f}")


if __name__ == "__main__":
    main()
