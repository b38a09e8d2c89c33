"""The file-options benchmark runs end to end on a few rows (no timing assertions)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "file_options.py"


def test_benchmark_prints_ratios_and_message_sizes() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--rows", "2000", "--repeat", "1"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"ratio csv excel-it / default: +\d+\.\d\d", out)
    assert re.search(r"ratio xlsx iso_text_dates on / off: +\d+\.\d\d", out)
    sizes = dict(re.findall(r"^(\(no metadata\)|export_id|source_query, .*?)\s+(\d+)\s+[\d.]+$",
                            out, re.MULTILINE))
    assert int(sizes["(no metadata)"]) < int(sizes["export_id"]) < int(
        sizes["source_query, source_connection, export_timestamp, export_id"])
