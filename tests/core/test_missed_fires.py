"""Fires that fell while no scheduler was running: recorded by the first one to start again
(``missed: no instance was running``), once each; ``catchup: latest`` runs the latest one."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pstt_core.catchup import NO_INSTANCE
from pstt_core.errors import ConfigError
from pstt_core.facade import Pstt
from pstt_core.history import HistoryStore
from tests.conftest import HomeBuilder, free_port, wait_for, wait_listening
from tests.processes import start_pstt


def _home(tmp_path: Path) -> HomeBuilder:
    home = HomeBuilder(tmp_path / "home")
    home.connections["databases"][0]["create_if_missing"] = True  # no demo data needed
    for sid, mode in (("tick", "none"), ("latest", "latest")):
        home.add_schedule(id=sid, query="SELECT 1 AS one", catchup=mode,
                          trigger={"type": "interval", "seconds": 1},
                          sink_options={"format": "csv", "filename": f"{sid}_{{export_id}}.csv"})
    home.write()
    return home


def _serve(home: HomeBuilder) -> Any:
    port = free_port()
    proc = start_pstt(home.root, "serve", "--port", str(port), PSTT_LEASE_TTL_SEC="3")
    wait_listening(port, proc, 60, "pstt serve")
    return proc


def _records(home: HomeBuilder, sid: str) -> list[dict[str, Any]]:
    history = HistoryStore(home.root / "exports" / "scheduler_history.json")
    return history.query(schedule_id=sid, limit=None)[1]


def _every_second_once(records: list[dict[str, Any]]) -> None:
    """Every fire of a 1 s schedule from the first to the last is in ``records`` exactly
    once: none lost in the gap, none recorded twice."""
    due = sorted(datetime.fromisoformat(r["scheduled_at"]) for r in records)
    assert len(due) == len(set(due))
    assert [b - a for a, b in zip(due, due[1:], strict=False)
            if b - a != timedelta(seconds=1)] == [], due


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_fires_while_no_instance_ran_are_recorded_once_each(tmp_path: Path, how: int) -> None:
    home = _home(tmp_path)
    first = _serve(home)
    wait_for(lambda: len(_records(home, "tick")) >= 2, timeout=30, what="two fires")
    first.send_signal(how)
    first.communicate(timeout=60)
    down_at = time.time()
    time.sleep(5)  # ~5 fires of each schedule with no instance running
    second = _serve(home)
    try:
        wait_for(lambda: any(r["error"] and NO_INSTANCE in r["error"]
                             for r in _records(home, "tick")), timeout=30,
                 what="the missed fires recorded")
        time.sleep(2)
    finally:
        second.terminate()
        second.communicate(timeout=60)
    ticks = _records(home, "tick")
    _every_second_once(ticks)
    missed = [r for r in ticks if r["error"] and NO_INSTANCE in r["error"]]
    assert len(missed) >= 3
    assert {r["status"] for r in missed} == {"skipped"}
    assert all(datetime.fromisoformat(r["scheduled_at"]).timestamp() > down_at - 2
               for r in missed)
    assert missed[0]["error"] == (f"{NO_INSTANCE} (due at "
                                  f"{datetime.fromisoformat(missed[0]['scheduled_at']).isoformat(timespec='seconds')})")
    # catchup: latest: the latest missed fire ran (late, once); the earlier ones are skipped
    latest = _records(home, "latest")
    _every_second_once(latest)
    skipped = [r for r in latest if r["error"] and NO_INSTANCE in r["error"]]
    assert skipped
    after = max(datetime.fromisoformat(r["scheduled_at"]) for r in skipped) + timedelta(seconds=1)
    caught = next(r for r in latest if datetime.fromisoformat(r["scheduled_at"]) == after)
    assert caught["status"] == "success", caught
    # run at start-up, after the earlier missed fires were recorded
    assert after.timestamp() > down_at
    assert caught["started_at"] > max(r["started_at"] for r in skipped)


def test_catchup_must_be_none_or_latest(home: HomeBuilder) -> None:
    home.add_schedule(id="s")
    with Pstt(home.write()) as pstt, pytest.raises(ConfigError) as bad:
        pstt.create_schedule({**pstt.schedules.raw("s"), "id": "t", "catchup": "all"})
    assert bad.value.problems == [("$.catchup", "must be one of: none, latest (what a fire "
                                   "missed while no instance was running does)")]
