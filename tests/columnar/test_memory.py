"""Memory on the columnar path is bounded by the batch: the peak RSS of a real ``pstt run``
process exporting 2,000,000 rows stays within 1.3 x that of a 20,000-row export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HomeBuilder, cli_env, logs_text
from tests.processes import counting_query

pytestmark = pytest.mark.slow


def peak_rss_mb(home: Path, schedule_id: str) -> float:
    proc = subprocess.Popen([sys.executable, "-m", "pstt_core", "--home", str(home), "run",
                             schedule_id, "--no-progress"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=cli_env())
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read() if proc.stderr else ""
    return usage.ru_maxrss / 1024


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_two_million_rows_need_no_more_memory_than_twenty_thousand(home: HomeBuilder,
                                                                   fmt: str) -> None:
    for sid, rows in (("big", 2_000_000), ("small", 20_000)):
        home.add_schedule(id=sid, query=counting_query(rows), batch_size=10_000,
                          sink_options={"format": fmt, "filename": f"{sid}_{{export_id}}.{fmt}"})
    root = home.write()
    small = peak_rss_mb(root, "small")
    big = peak_rss_mb(root, "big")
    assert logs_text(root).count("(columnar path)") == 2
    assert big <= 1.3 * small, f"{big:.1f} MB for 2M rows, {small:.1f} MB for 20k"
