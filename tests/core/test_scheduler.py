"""The scheduler with real APScheduler timing: fires, time zones, no overlap, live changes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timezone
from typing import Any

import httpx
import pytest

from pstt_core import ConflictError, Pstt
from pstt_core.history import HistoryStore
from tests.conftest import HomeBuilder, free_port, logs_text
from tests.core.conftest import Recorder, wait_for

FAST = {"PSTT_SCHEDULES_RELOAD_SEC": "1"}


@pytest.fixture
def started(home: HomeBuilder, recorder: Recorder) -> Iterator[Any]:
    """Build and start a facade from the home's schedules; always stopped afterwards."""
    made: list[Pstt] = []

    def start(environ: dict[str, str] | None = None) -> Pstt:
        pstt = home.pstt(logs=False, environ=environ or {})
        pstt.start()
        made.append(pstt)
        return pstt

    yield start
    for pstt in made:
        pstt.stop()


def runs(pstt: Pstt, schedule_id: str, **filters: Any) -> list[dict[str, Any]]:
    return pstt.history.query(schedule_id=schedule_id, **filters)[1]


def test_interval_trigger_fires(home: HomeBuilder, recorder: Recorder, started: Any) -> None:
    home.add_schedule(id="tick", trigger={"type": "interval", "seconds": 1},
                      query="SELECT id FROM orders WHERE id <= 5", sharing_mode="recorder")
    pstt = started()
    record = wait_for(lambda: runs(pstt, "tick"), timeout=8)[0]
    assert record["trigger"] == "schedule"
    assert record["status"] == "success" and record["rows"] == 5


def test_cron_next_run_honours_the_schedule_time_zone(home: HomeBuilder, started: Any,
                                                      recorder: Recorder) -> None:
    home.add_schedule(id="rome", trigger={"type": "cron", "expression": "30 6 * * *"},
                      timezone="Europe/Rome", sharing_mode="recorder")
    home.add_schedule(id="tokyo", trigger={"type": "cron", "expression": "30 6 * * *"},
                      timezone="Asia/Tokyo", sharing_mode="recorder")
    pstt = started()
    rome, tokyo = pstt.scheduler.next_run_time("rome"), pstt.scheduler.next_run_time("tokyo")
    assert rome is not None and tokyo is not None
    assert (rome.hour, rome.minute) == (6, 30) and str(rome.tzinfo) == "Europe/Rome"
    assert (tokyo.hour, tokyo.minute) == (6, 30) and str(tokyo.tzinfo) == "Asia/Tokyo"
    assert rome.astimezone(timezone.utc).hour in (4, 5)  # CEST / CET
    assert tokyo.astimezone(timezone.utc).hour == 21


def test_disabled_schedule_has_no_job(home: HomeBuilder, started: Any, recorder: Recorder) -> None:
    home.add_schedule(id="on", sharing_mode="recorder")
    home.add_schedule(id="off", sharing_mode="recorder", enabled=False)
    pstt = started()
    assert [j["id"] for j in pstt.scheduler.jobs()] == ["on"]
    assert pstt.scheduler.next_run_time("off") is None


def test_run_now_while_the_scheduler_runs(home: HomeBuilder, started: Any, recorder: Recorder) -> None:
    home.add_schedule(id="now", query="SELECT id FROM orders", sharing_mode="recorder")
    pstt = started()
    record = pstt.run("now")
    assert record.status == "success" and record.rows == 500 and record.trigger == "manual"
    assert runs(pstt, "now")[0]["export_id"] == record.export_id


def test_second_manual_run_is_refused_while_one_runs(home: HomeBuilder, started: Any,
                                                     recorder: Recorder) -> None:
    home.add_schedule(id="slow", query="SELECT id FROM orders", batch_size=100,
                      sharing_mode="recorder", sink_options={"delay": 0.2})
    pstt = started()
    first = pstt.run_in_background("slow")
    assert recorder.started.wait(5)
    with pytest.raises(ConflictError, match="schedule 'slow' is already running"):
        pstt.run("slow")
    with pytest.raises(ConflictError):
        pstt.run_in_background("slow")
    record = wait_for(lambda: pstt.history.get(first.export_id), timeout=10)
    assert record["status"] == "success" and record["rows"] == 500
    assert len(recorder.received) == 1


def test_scheduled_fire_during_a_run_is_recorded_as_skipped(home: HomeBuilder, started: Any,
                                                            recorder: Recorder) -> None:
    home.add_schedule(id="busy", query="SELECT id FROM orders", batch_size=100,
                      trigger={"type": "interval", "seconds": 1},
                      sharing_mode="recorder", sink_options={"delay": 0.5})
    pstt = started()
    manual = pstt.run_in_background("busy")
    skipped = wait_for(lambda: runs(pstt, "busy", status="skipped"), timeout=8)[0]
    assert skipped["error"] == "previous run still in progress"
    assert skipped["trigger"] == "schedule"
    done = wait_for(lambda: pstt.history.get(manual.export_id), timeout=10)
    assert done["status"] == "success"
    assert pstt.scheduler_metrics.data()["schedules"]["busy"]["skipped"] >= 1


def test_schedule_changes_take_effect_without_restart(home: HomeBuilder, started: Any,
                                                      recorder: Recorder) -> None:
    pstt = started()
    assert pstt.scheduler.jobs() == []
    pstt.create_schedule({"id": "live", "name": "Live", "connection": "demo",
                          "query": "SELECT id FROM orders WHERE id = 1",
                          "trigger": {"type": "cron", "expression": "0 3 * * *"},
                          "sharing_mode": "recorder"})
    assert pstt.scheduler.next_run_time("live").hour == 3  # type: ignore[union-attr]
    pstt.patch_schedule("live", {"trigger": {"type": "cron", "expression": "15 4 * * *"}})
    nxt = pstt.scheduler.next_run_time("live")
    assert nxt is not None and (nxt.hour, nxt.minute) == (4, 15)
    pstt.patch_schedule("live", {"enabled": False})
    assert pstt.scheduler.next_run_time("live") is None
    pstt.patch_schedule("live", {"enabled": True, "trigger": {"type": "interval", "seconds": 1}})
    assert wait_for(lambda: runs(pstt, "live"), timeout=8)[0]["trigger"] == "schedule"
    pstt.delete_schedule("live")
    assert pstt.scheduler.jobs() == []


def test_hand_edits_of_schedules_json_are_picked_up(home: HomeBuilder, started: Any,
                                                    recorder: Recorder) -> None:
    pstt = started(FAST)
    assert pstt.scheduler.jobs() == []
    path = home.root / "exports" / "schedules.json"
    data = json.loads(path.read_text())
    data["schedules"].append({"id": "edited", "name": "Edited by hand", "connection": "demo",
                              "query": "SELECT 1 AS one",
                              "trigger": {"type": "interval", "seconds": 1},
                              "sharing_mode": "recorder"})
    path.write_text("{ half a file")  # an editor saving in two steps must not break anything
    path.write_text(json.dumps(data))
    record = wait_for(lambda: runs(pstt, "edited"), timeout=10)[0]
    assert record["status"] == "success" and record["trigger"] == "schedule"
    assert pstt.scheduler.running


def test_broken_file_edit_keeps_the_current_jobs(home: HomeBuilder, started: Any,
                                                 recorder: Recorder) -> None:
    home.add_schedule(id="keep", sharing_mode="recorder")
    pstt = started(FAST)
    path = home.root / "exports" / "schedules.json"
    path.write_text('{"schedules": [')
    threading.Event().wait(2.5)  # two watcher periods
    assert [j["id"] for j in pstt.scheduler.jobs()] == ["keep"]
    assert pstt.scheduler.running


def test_an_invalid_schedule_is_logged_once_per_change(home: HomeBuilder, started: Any,
                                                      recorder: Recorder, caplog: Any) -> None:
    home.add_schedule(id="bad", connection="nowhere", sharing_mode="recorder")
    home.add_schedule(id="good", sharing_mode="recorder")
    pstt = started()
    for _ in range(3):  # every save through the API or a page syncs again
        pstt.patch_schedule("good", {"name": "Good"})
    lines = [r for r in caplog.records if "schedule bad is invalid" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelname == "ERROR"
    raw = json.loads((home.root / "exports" / "schedules.json").read_text())
    raw["schedules"][0]["connection"] = "elsewhere"  # a different mistake is logged again
    (home.root / "exports" / "schedules.json").write_text(json.dumps(raw))
    pstt.scheduler.sync()
    pstt.scheduler.sync()
    lines = [r.getMessage() for r in caplog.records if "schedule bad is invalid" in r.getMessage()]
    assert len(lines) == 2 and "'elsewhere'" in lines[1]


def test_failing_runs_are_recorded_and_others_keep_running(home: HomeBuilder, started: Any,
                                                           recorder: Recorder) -> None:
    every_second = {"type": "interval", "seconds": 1}
    home.add_schedule(id="bad-sql", query="SELEC nonsense", trigger=every_second,
                      sharing_mode="recorder")
    home.add_schedule(id="bad-sink", query="SELECT id FROM orders", trigger=every_second,
                      sharing_mode="recorder", sink_options={"fail": True})
    home.add_schedule(id="good", query="SELECT id FROM orders WHERE id < 3", trigger=every_second,
                      sharing_mode="recorder")
    pstt = started()
    # A fire while the previous run of the same schedule is still being recorded is a
    # "skipped" record (every second, on a slow disk): look for the failed/successful ones.
    wait_for(lambda: len(runs(pstt, "good", status="success")) >= 2
             and runs(pstt, "bad-sql", status="failed")
             and runs(pstt, "bad-sink", status="failed"), timeout=10)
    sql = runs(pstt, "bad-sql", status="failed")[0]
    assert sql["error"].startswith("SQL error: OperationalError: near \"SELEC\": syntax error")
    sink = runs(pstt, "bad-sink", status="failed")[0]
    assert sink["error"] == "recorder was told to fail"
    assert {r["status"] for r in runs(pstt, "good")} <= {"success", "skipped"}
    aborted = [r for r in recorder.received if r.aborted is not None]
    assert aborted and str(aborted[0].aborted) == "recorder was told to fail"
    assert pstt.scheduler.running


def test_restart_after_stop(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="again", trigger={"type": "interval", "seconds": 1},
                      query="SELECT 1 AS one", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={})
    pstt.start()
    pstt.stop()
    pstt.start()
    try:
        assert wait_for(lambda: runs(pstt, "again"), timeout=8)[0]["status"] == "success"
    finally:
        pstt.stop()


def test_background_runs_back_to_back_conflict_at_once(home: HomeBuilder, started: Any,
                                                        recorder: Recorder) -> None:
    home.add_schedule(id="bg", query="SELECT id FROM orders", batch_size=250,
                      sharing_mode="recorder", sink_options={"delay": 0.1})
    pstt = started()
    first = pstt.run_in_background("bg")
    with pytest.raises(ConflictError):  # no window between the check and the run
        pstt.run_in_background("bg")
    done = wait_for(lambda: pstt.history.get(first.export_id), timeout=10)
    assert done["status"] == "success"
    assert len(pstt.history.query(schedule_id="bg")[1]) == 1


def test_settings_give_the_defaults_a_schedule_does_not_set(home: HomeBuilder, started: Any,
                                                            recorder: Recorder) -> None:
    home.add_schedule(id="defaults", query="SELECT id FROM orders", sharing_mode="recorder")
    home.add_schedule(id="own", query="SELECT id FROM orders", sharing_mode="recorder",
                      batch_size=300, misfire_grace_sec=5, coalesce=False)
    pstt = started({"PSTT_DEFAULT_BATCH_SIZE": "200", "PSTT_MISFIRE_GRACE_SEC": "42"})
    jobs = {j.id: j for j in pstt.scheduler._aps.get_jobs()}
    assert (jobs["defaults"].misfire_grace_time, jobs["defaults"].coalesce) == (42, True)
    assert (jobs["own"].misfire_grace_time, jobs["own"].coalesce) == (5, False)
    assert all(j.max_instances == 1 for j in jobs.values())
    pstt.run("defaults")
    assert [len(b) for b in recorder.last().batches] == [200, 200, 100]
    pstt.run("own")
    assert [len(b) for b in recorder.last().batches] == [300, 200]
    stored = {s["id"]: s for s in
              json.loads((home.root / "exports" / "schedules.json").read_text())["schedules"]}
    assert "batch_size" not in stored["defaults"]  # hand-written files are not rewritten on read


def test_invalid_schedule_does_not_stop_the_others_firing(home: HomeBuilder, started: Any,
                                                          recorder: Recorder) -> None:
    home.add_schedule(id="broken", trigger={"type": "cron", "expression": "every day"},
                      sharing_mode="recorder")
    home.add_schedule(id="fine", trigger={"type": "interval", "seconds": 1},
                      query="SELECT 1 AS one", sharing_mode="recorder")
    pstt = started()
    assert [j["id"] for j in pstt.scheduler.jobs()] == ["fine"]
    assert wait_for(lambda: runs(pstt, "fine"), timeout=8)[0]["status"] == "success"
    health = next(c for c in pstt.health()["checks"] if c["name"] == "scheduler")
    assert health["status"] == "degraded" and "broken" in health["detail"]


def test_a_fire_while_the_previous_scheduled_run_goes_on_is_recorded(
        home: HomeBuilder, started: Any, recorder: Recorder) -> None:
    # every run takes ~2.4 s (3 batches × 0.8 s) on a 1 s interval: APScheduler itself
    # refuses the overlapping fires, and each one is in the history as skipped
    home.add_schedule(id="slow", query="SELECT id FROM orders WHERE id <= 3", batch_size=1,
                      trigger={"type": "interval", "seconds": 1}, sharing_mode="recorder",
                      sink_options={"delay": 0.8})
    pstt = started()
    skipped = wait_for(lambda: runs(pstt, "slow", status="skipped"), timeout=10)[0]
    assert skipped["error"] == "previous run still in progress"
    assert skipped["trigger"] == "schedule"
    assert wait_for(lambda: runs(pstt, "slow", status="success"), timeout=10)[0]["rows"] == 3


def test_fires_missed_while_the_process_was_suspended_are_recorded(tmp_path: Any) -> None:
    """A laptop asleep or a paused VM: ``pstt serve`` frozen with SIGSTOP past several fires
    and the grace time; after SIGCONT the late fires are history records, not silence."""
    home = HomeBuilder(tmp_path / "home")
    home.connections["databases"][0]["create_if_missing"] = True  # no demo data needed
    home.add_schedule(id="tick", query="SELECT 1 AS one", trigger={"type": "interval", "seconds": 1},
                      misfire_grace_sec=1, coalesce=False,
                      sink_options={"format": "csv", "filename": "tick_{export_id}.csv"})
    home.write()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSTT_", "KAFKA_"))}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    proc = subprocess.Popen([sys.executable, "-c", "from pstt_core.cli import main; main()",
                             "--home", str(home.root), "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = HistoryStore(home.root / "exports" / "scheduler_history.json")

    def tick_runs(status: str) -> list[dict[str, Any]]:
        return history.query(schedule_id="tick", status=status, limit=100_000)[1]

    try:
        # stop between runs, not inside one (a fire that finds its run still going is
        # recorded as "previous run still in progress" instead): the log line comes last
        wait_for(lambda: "finished: success" in logs_text(home.root), timeout=30)
        proc.send_signal(signal.SIGSTOP)
        time.sleep(5)
        proc.send_signal(signal.SIGCONT)
        # (a loaded machine may also show "previous run still in progress" skips)
        missed = wait_for(lambda: [r for r in tick_runs("skipped")
                                   if r["error"].startswith("missed: due at ")], timeout=15)
        assert "(misfire_grace_sec=1)" in missed[0]["error"], missed[0]
        assert missed[0]["trigger"] == "schedule" and missed[0]["schedule_id"] == "tick"
        # the scheduler goes on firing after the pause
        last_success = max(r["started_at"] for r in tick_runs("success"))
        wait_for(lambda: [r for r in tick_runs("success") if r["started_at"] > last_success],
                 timeout=10)
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        proc.wait(timeout=30)
    assert "skipped: missed: due at" in logs_text(home.root)
