"""SIGTERM, SIGINT and SIGKILL of real ``pstt run`` / ``pstt serve`` processes during a
3M-row CSV export: one ``interrupted`` record per run, no partial file left behind."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.conftest import HomeBuilder, free_port, logs_text, pstt_process, wait_for
from tests.processes import (
    counting_query,
    history,
    interrupt,
    journal_running,
    start_run,
)

ROWS = 3_000_000
pytestmark = pytest.mark.slow


def _home(home: HomeBuilder) -> Path:
    home.add_schedule(id="big", query=counting_query(ROWS), batch_size=5000,
                      sink_options={"filename": "big_{export_id}.csv"})
    home.add_schedule(id="quick", query="SELECT id FROM orders",
                      sink_options={"filename": "quick_{export_id}.csv"})
    return home.write()


def _partials(root: Path) -> list[Path]:
    return list((root / "exports").rglob("*.partial"))


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_export_and_records_it(home: HomeBuilder, command: str,
                                                sig: signal.Signals) -> None:
    root = _home(home)
    proc = start_run(root, "big", command, free_port())
    wait_for(lambda: journal_running(root, min_rows=1), 30,
             what="the run's first checkpoint", proc=proc)
    record = interrupt(proc, root, sig, timeout=60)
    assert 0 < record["rows"] < ROWS
    assert record["pid"] == proc.pid
    assert _partials(root) == []
    assert list((root / "exports" / ".journal").iterdir()) == []
    metrics = json.loads((root / "exports" / "scheduler_metrics.json").read_text())
    assert metrics["schedules"]["big"]["interrupted"] == 1
    log = logs_text(root)
    assert f"ERROR   pstt.runner: run {record['export_id']} of schedule big finished: " \
           "interrupted" in log


@pytest.mark.parametrize("command", ["run", "serve"])
def test_sigkill_is_recorded_at_the_next_start(home: HomeBuilder, command: str) -> None:
    root = _home(home)
    proc = start_run(root, "big", command, free_port())
    # past the file's 1 MiB write buffer: an empty partial file is left alone for a minute
    # (its writer may not have locked it yet), one with data is removed at the next start
    running = wait_for(lambda: journal_running(root, min_rows=100_000), 30,
                       what="a checkpoint", proc=proc)
    proc.kill()
    proc.wait(timeout=30)
    assert [r for r in history(root) if r["schedule_id"] == "big"] == []
    assert len(_partials(root)) == 1  # what the killed process was writing

    check = pstt_process(root, "check", "--offline")
    assert "recovered run" in check.stdout, check.stdout + check.stderr
    runs = [r for r in history(root) if r["schedule_id"] == "big"]
    assert len(runs) == 1
    record = runs[0]
    assert record["export_id"] == running["export_id"]
    assert record["status"] == "interrupted"
    assert record["error"].startswith("process ended during the run; counts are those "
                                      "confirmed at ")
    assert 0 < record["rows"] < ROWS

    # the next start removes the killed export's partial file
    quick = pstt_process(root, "run", "quick")
    assert quick.returncode == 0, quick.stderr
    assert _partials(root) == []
    # and the orphan is not recorded twice
    assert len([r for r in history(root) if r["schedule_id"] == "big"]) == 1
