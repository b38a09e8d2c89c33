"""The filesystem export benchmark runs end to end on a tiny table (no timing assertions)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fs_export.py"


def test_benchmark_prints_throughput_memory_and_ratios(tmp_path: Path) -> None:
    with_pandas = importlib.util.find_spec("pandas") is not None
    args = [sys.executable, str(SCRIPT), "--rows", "3000", "--small", "300", "--repeat", "1",
            "--workdir", str(tmp_path)]
    if not with_pandas:
        args.append("--skip-pandas")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSTT_")}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    table = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^(pstt|pstt-small|pandas|pandas-sqlite3)\s+([\d,]+)\s+([\d.]+)\s+([\d,]+)\s+([\d.]+)",
        out, re.MULTILINE)}
    assert table["pstt"][0] == "3,000" and table["pstt-small"][0] == "300"
    for _name, (_rows, _seconds, rows_per_s, rss) in table.items():
        assert int(rows_per_s.replace(",", "")) > 0 and float(rss) > 10
    assert re.search(r"growth .* \d+\.\d\dx", out)
    if with_pandas:
        assert table["pandas"][0] == "3,000"
        assert re.search(r"speed   PSTT / pandas: +\d+\.\d\dx", out)
        assert re.search(r"memory  PSTT / pandas-sqlite3: +\d+\.\d\dx", out)
    # Both the PSTT export and pandas' wrote the whole table.
    assert (tmp_path / "home" / "exports" / "bench.csv").stat().st_size > 3000 * 20
