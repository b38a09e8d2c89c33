"""The columnar benchmark runs end to end on a tiny table (no timing assertions): whole
``pstt run`` processes against the sqlite3 CLI and pandas, peak RSS and start-up."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "columnar.py"


@pytest.mark.slow
def test_columnar_benchmark_prints_ratios_memory_and_start_up(tmp_path: Path) -> None:
    if shutil.which("sqlite3") is None or importlib.util.find_spec("pandas") is None:
        pytest.skip("needs the sqlite3 command-line tool and pandas (pstt[bench])")
    figures = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSTT_")}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--rows", "3000", "--small", "300",
                           "--rounds", "1", "--only", "sqlite-csv,memory,startup",
                           "--workdir", str(tmp_path), "--json", str(figures)],
                          capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(figures.read_text())
    ratios = data["sqlite-csv"]["ratios"]
    assert set(ratios) == {"sqlite3 / pstt", "pandas / pstt", "row path / columnar"}
    assert all(r > 0 for r in ratios.values())
    assert set(data["memory"]) >= {"columnar csv", "row path csv"}
    assert data["startup"]["unwanted_imports"] is not None
    assert "sqlite3 / pstt" in proc.stdout and "target >= 1.0" in proc.stdout
    assert (tmp_path / "out" / "cli.csv").stat().st_size > 3000 * 20
