"""No success without a record: a full disk (a real tmpfs under ``exports/``) and a history
damaged during a run. The run is never reported as a success, the record waits in the run
journal (in the room it reserved when the run started) and joins the history later."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pstt_core import Pstt, RecordNotWrittenError
from pstt_core.journal import RESERVE_BYTES
from tests.conftest import HomeBuilder, pstt_process, wait_for
from tests.disks import fill, free_bytes, small_disk
from tests.processes import counting_query, history, journal_running, start_pstt

# what the running entry of one run takes (its reserved room), and nothing more
ONE_ENTRY = RESERVE_BYTES + 1


def _metrics(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / "exports" / "scheduler_metrics.json").read_text())
                ["schedules"]["daily"])


def _home(home: HomeBuilder) -> tuple[Path, dict[str, str]]:
    home.add_schedule(id="daily", sink_options={"filename": "daily_{export_id}.csv"})
    root = home.write()
    # the files go to another disk: only exports/ (history, counters, journal) fills up
    return root, {"PSTT_EXPORT_ROOT": str(root / "out")}


def test_a_full_disk_is_no_success_and_the_record_is_merged_later(home: HomeBuilder) -> None:
    root, env = _home(home)
    first = pstt_process(root, "run", "daily", "--json", **env)
    assert first.returncode == 0, first.stderr
    first_id = json.loads(first.stdout)["export_id"]
    exports = root / "exports"
    with small_disk(exports):
        (exports / ".journal").mkdir(exist_ok=True)
        before = (exports / "scheduler_history.json").read_bytes()
        filler = fill(exports, leave=ONE_ENTRY)  # room for the run's running entry only

        full = pstt_process(root, "run", "daily", "--json", **env)
        assert free_bytes(exports) == 0
        assert full.returncode == 4, full.stdout + full.stderr
        shown = json.loads(full.stdout)
        assert (shown["status"], shown["recorded"]) == ("success", False)
        kept = Path(shown["kept_at"])
        assert kept == exports / ".journal" / f"{shown['export_id']}.json"
        assert "Traceback" not in full.stderr
        message = full.stderr.strip().splitlines()[-1]
        assert message.startswith(f"error: run {shown['export_id']} of schedule daily ended "
                                  "(success, 500 rows delivered) but its record could not be "
                                  f"written to {exports / 'scheduler_history.json'}: ")
        assert "No space left on device" in message and f"it is kept in {kept}" in message
        # delivered: the whole file is there
        with (root / "out" / shown["path"]).open(newline="") as fh:
            assert len(list(csv.reader(fh))) == 501
        # recorded nowhere else: the history and the counters did not move
        assert (exports / "scheduler_history.json").read_bytes() == before
        assert _metrics(root)["runs"] == 1
        assert json.loads(kept.read_bytes())["journal"] == "pending"

        check = pstt_process(root, "check", "--offline", **env)
        assert check.returncode == 1
        assert (f"✗ run {shown['export_id']} of daily (success) is not in the history yet: "
                f"kept in {kept}") in check.stdout, check.stdout

        filler.unlink()  # space again: the next run adds the kept record first
        again = pstt_process(root, "run", "daily", "--json", **env)
        assert again.returncode == 0, again.stderr
        again_id = json.loads(again.stdout)["export_id"]
        runs = history(root)
        assert [r["export_id"] for r in runs] == [first_id, shown["export_id"], again_id]
        assert runs[1]["status"] == "success" and runs[1]["rows"] == 500
        counters = _metrics(root)
        assert (counters["runs"], counters["success"]) == (3, 3)
        assert counters["last_success_at"] == runs[2]["started_at"]  # not moved back
        assert list((exports / ".journal").iterdir()) == []


def test_a_history_truncated_during_the_run_is_left_alone(home: HomeBuilder) -> None:
    home.add_schedule(id="big", query=counting_query(300_000), batch_size=5000,
                      sink_options={"filename": "big_{export_id}.csv"})
    home.add_schedule(id="quick", sink_options={"filename": "quick_{export_id}.csv"})
    root = home.write()
    assert pstt_process(root, "run", "quick").returncode == 0
    path = root / "exports" / "scheduler_history.json"
    whole = path.read_bytes()

    proc = start_pstt(root, "run", "big", "--no-progress")
    running = wait_for(lambda: journal_running(root), 30,
                       what="the run's running record", proc=proc)
    path.write_bytes(whole[:len(whole) // 2])  # cut off, as by a bad copy or a full disk
    assert proc.poll() is None, "the run ended before the history was damaged"
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 4, out + err
    assert out.startswith("not recorded (success): 300,000 rows read, 300,000 delivered in "), out
    assert f"could not be written to {path}: {path}: invalid JSON" in err
    assert "Traceback" not in err
    assert path.read_bytes() == whole[:len(whole) // 2]  # never written over
    delivered = next((root / "exports").glob("big_*.csv"))
    assert sum(1 for _ in delivered.open()) == 300_001

    path.write_bytes(whole)  # the user puts the file back
    check = pstt_process(root, "check", "--offline")
    assert f"recovered run {running['export_id']} of big: success" in check.stdout, check.stdout
    assert check.returncode == 0, check.stdout
    runs = history(root)
    assert [(r["schedule_id"], r["status"], r["rows"]) for r in runs] == [
        ("quick", "success", 500), ("big", "success", 300_000)]


@pytest.fixture
def full_app(home: HomeBuilder) -> Any:
    root, env = _home(home)
    pstt = Pstt(root, environ={**env, "PSTT_SCHEDULER_ENABLED": "false"}, logs=False)
    with small_disk(root / "exports") as exports:
        pstt.home.journal.mkdir(exist_ok=True)
        yield pstt, TestClient(pstt.asgi_app(), base_url="http://localhost"), exports


def test_api_health_and_status_page_say_the_record_could_not_be_written(full_app: Any) -> None:
    pstt, client, exports = full_app
    filler = fill(exports, leave=ONE_ENTRY)
    ran = client.post("/api/schedules/daily/run")
    assert ran.status_code == 503, ran.text
    body = ran.json()
    export_id = body["record"]["export_id"]
    assert body["record"]["status"] == "success" and body["record"]["rows"] == 500
    assert body["kept_at"] == str(exports / ".journal" / f"{export_id}.json")
    assert body["error"].startswith(f"run {export_id} of schedule daily ended (success, 500 rows "
                                    "delivered) but its record could not be written to "
                                    "exports/scheduler_history.json: ")
    assert "No space left on device" in body["error"]

    again = client.get(f"/api/runs/{export_id}")
    assert again.status_code == 503 and again.json()["kept_at"] == body["kept_at"]
    health = client.get("/api/health").json()
    records = next(c for c in health["checks"] if c["name"] == "records")
    assert records["status"] == "unhealthy"
    assert records["detail"].startswith("1 run record(s) could not be written to the history")
    assert health["status"] == "unhealthy"
    page = client.get("/")
    assert page.status_code == 200
    assert "1 run record(s) could not be written to the history" in page.text
    client.cookies.clear()  # the page set a session cookie; an API client has none
    # the counters follow the record: nothing counted yet
    assert "daily" not in pstt.scheduler_metrics.data()["schedules"]
    assert 'pstt_runs_total{sharing_mode="filesystem",status="success"}' not in \
        client.get("/metrics").text

    filler.unlink()
    assert client.post("/api/schedules/daily/run").status_code == 200
    assert client.get(f"/api/runs/{export_id}").json()["status"] == "success"
    records = next(c for c in client.get("/api/health").json()["checks"]
                   if c["name"] == "records")
    assert records["status"] == "healthy"
    assert pstt.scheduler_metrics.data()["schedules"]["daily"]["success"] == 2
    # observed once it is recorded: both runs reach the live counter
    assert 'pstt_runs_total{sharing_mode="filesystem",status="success"} 2.0' in \
        client.get("/metrics").text


def test_no_room_for_the_running_record_means_no_delivery(
        full_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    pstt, _client, exports = full_app
    fill(exports)
    with pytest.raises(RecordNotWrittenError) as err:
        pstt.run("daily")
    record = err.value.record
    assert record.status == "failed" and record.rows == 0
    assert record.error.startswith("not started: the run journal could not be written: ")
    assert "No space left on device" in record.error
    assert err.value.kept_at is None and "could not be kept anywhere (see the log)" in str(err.value)
    assert not (pstt.home.root / "out").exists()  # nothing delivered
    assert f'"export_id": "{record.export_id}"' in caplog.text  # the record is in the log
