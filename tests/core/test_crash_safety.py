"""A process killed (SIGKILL) in the middle of state writes never leaves a corrupt file."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pstt_core.history import HistoryStore
from pstt_core.models import RunRecord

WRITER = r"""
import sys
from pathlib import Path
from pstt_core.state import atomic_write_json

path = Path(sys.argv[1])
version = 0
while True:
    version += 1
    # ~2 MB per version: long enough that a kill often lands inside a write.
    atomic_write_json(path, {"version": version, "rows": [[version, "x" * 200]] * 8000})
    print(version, flush=True)
"""


def check_complete(path: Path) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    version = data["version"]
    assert len(data["rows"]) == 8000
    assert all(row == [version, "x" * 200] for row in data["rows"])
    return int(version)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_writes_leaves_a_complete_version(tmp_path: Path) -> None:
    path = tmp_path / "scheduler_history.json"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rnd = random.Random(1234)
    seen: list[int] = []
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one complete version exists before the kill
        time.sleep(rnd.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        seen.append(check_complete(path))
    assert all(v >= 1 for v in seen)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    assert all(name.startswith(".scheduler_history.json.") and name.endswith(".tmp")
               for name in leftovers), leftovers
    # A store reading the state ignores temp files left by the killed writer.
    (tmp_path / ".scheduler_history.json.zzz.tmp").write_text('{"runs": [trunc')
    path.write_text("[]")
    store = HistoryStore(path)
    store.append(RunRecord(export_id="e1", schedule_id="s", sharing_mode="filesystem",
                           status="success", started_at="2026-01-21T10:00:00+00:00"))
    assert [r["export_id"] for r in store.query()[1]] == ["e1"]


APPENDER = r"""
import sys
from pathlib import Path
from pstt_core.history import HistoryStore, SchedulerMetricsStore
from pstt_core.models import RunRecord

history = HistoryStore(Path(sys.argv[1]) / "scheduler_history.json", 100_000)
metrics = SchedulerMetricsStore(Path(sys.argv[1]) / "scheduler_metrics.json")
for i in range(int(sys.argv[3])):
    record = RunRecord(export_id=f"{sys.argv[2]}-{i}", schedule_id=sys.argv[2],
                       sharing_mode="filesystem", status="success", started_at="t", rows=1)
    history.append(record)
    metrics.record(record)
"""


def test_two_processes_appending_lose_nothing(tmp_path: Path) -> None:
    """`pstt serve` and a `pstt run` from cron write the same history and counters."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(tmp_path), name, "100"], env=env)
             for name in ("serve", "cron")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    records = json.loads((tmp_path / "scheduler_history.json").read_text())
    assert len(records) == 200
    for name in ("serve", "cron"):  # each writer's records, complete and in order
        assert [r["export_id"] for r in records if r["schedule_id"] == name] == \
            [f"{name}-{i}" for i in range(100)]
    metrics = json.loads((tmp_path / "scheduler_metrics.json").read_text())
    assert metrics["total"]["runs"] == 200 and metrics["total"]["rows"] == 200


def test_stale_temp_files_are_cleaned_on_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "scheduler_history.json"
    stale = tmp_path / ".scheduler_history.json.dead1234.tmp"
    fresh = tmp_path / ".scheduler_history.json.live5678.tmp"
    other = tmp_path / ".scheduler_metrics.json.dead9999.tmp"
    for tmp in (stale, fresh, other):
        tmp.write_text('{"half')
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    HistoryStore(path).append(RunRecord(export_id="e", schedule_id="s", sharing_mode="x",
                                        status="success", started_at="t"))
    assert not stale.exists()
    assert fresh.exists()  # may belong to a writer that is still running
    assert other.exists()  # another file's temp is that file's business
