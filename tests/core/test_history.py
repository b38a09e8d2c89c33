"""Run history and scheduler metrics: retention, files of earlier versions, counters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pstt_core.models import RunRecord
from tests.conftest import HomeBuilder, write_json
from tests.core.conftest import Recorder

OLD = {"export_id": "old-1", "schedule_id": "legacy", "sharing_mode": "kafka", "status": "success",
       "started_at": "2025-12-01T06:00:00+00:00", "finished_at": "2025-12-01T06:00:02+00:00",
       "duration_sec": 2.0, "rows": 10, "error": None, "kafka_topic": "orders",
       "kafka_messages_sent": 10, "kafka_messages_failed": 0, "kafka_duration_sec": 1.5,
       "operator_note": "written by R20260121"}


def history_file(home: HomeBuilder) -> Any:
    return json.loads((home.root / "exports" / "scheduler_history.json").read_text())


def test_retention_keeps_the_newest_records(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="r", query="SELECT 1 AS one", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={"PSTT_HISTORY_MAX_RECORDS": "10"})
    ids = [pstt.run("r").export_id for _ in range(13)]
    stored = history_file(home)
    assert isinstance(stored, list)
    assert [r["export_id"] for r in stored] == ids[-10:]
    total, newest_first = pstt.history.query(schedule_id="r", limit=3)
    assert total == 10 and [r["export_id"] for r in newest_first] == ids[:-4:-1]


def test_plain_array_history_keeps_its_shape_and_unknown_fields(home: HomeBuilder,
                                                                 recorder: Recorder) -> None:
    write_json(home.root / "exports" / "scheduler_history.json", [OLD])
    home.add_schedule(id="r", query="SELECT 1 AS one", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={})
    record = pstt.run("r")
    stored = history_file(home)
    assert isinstance(stored, list) and stored[0] == OLD
    assert stored[1]["export_id"] == record.export_id
    assert pstt.history.get("old-1") == OLD
    assert RunRecord.from_dict(OLD).extra["operator_note"] == "written by R20260121"


def test_runs_object_history_keeps_its_shape(home: HomeBuilder, recorder: Recorder) -> None:
    write_json(home.root / "exports" / "scheduler_history.json",
               {"runs": [OLD], "format": 1, "generator": "old pstt"})
    home.add_schedule(id="r", query="SELECT 1 AS one", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={})
    record = pstt.run("r")
    stored = history_file(home)
    assert stored["format"] == 1 and stored["generator"] == "old pstt"
    assert [r["export_id"] for r in stored["runs"]] == ["old-1", record.export_id]
    total, rows = pstt.history.query(sharing_mode="kafka")
    assert total == 1 and rows[0]["kafka_messages_sent"] == 10


def test_history_record_has_the_contract_fields(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="r", query="SELECT id FROM orders WHERE id <= 4", sharing_mode="recorder")
    record = home.pstt(logs=False, environ={}).run("r")
    stored = history_file(home)[-1]
    for field in ("export_id", "schedule_id", "sharing_mode", "status", "started_at",
                  "finished_at", "duration_sec", "rows", "error"):
        assert field in stored, field
    assert stored == record.to_dict()
    assert stored["sharing_mode"] == "recorder" and stored["rows"] == 4
    assert stored["recorded_rows"] == 4  # the sink's own fields are flattened into the record


def test_scheduler_metrics_count_every_outcome(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="ok", query="SELECT id FROM orders WHERE id <= 7", sharing_mode="recorder")
    home.add_schedule(id="ko", query="SELECT nothing FROM nowhere", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={})
    first = pstt.run("ok")
    pstt.run("ok")
    pstt.run("ko")
    data = json.loads((home.root / "exports" / "scheduler_metrics.json").read_text())
    ok, ko, total = data["schedules"]["ok"], data["schedules"]["ko"], data["total"]
    assert (ok["runs"], ok["success"], ok["failed"], ok["rows"]) == (2, 2, 0, 14)
    assert (ko["runs"], ko["success"], ko["failed"], ko["rows"]) == (1, 0, 1, 0)
    assert (total["runs"], total["success"], total["failed"], total["rows"]) == (3, 2, 1, 14)
    assert ok["last_status"] == "success" and ko["last_status"] == "failed"
    assert ok["max_duration_sec"] >= 0 and total["total_duration_sec"] >= ok["max_duration_sec"]
    assert "last_success_at" not in ko
    last = pstt.scheduler_metrics.last_success("ok")
    assert last is not None and last > datetime.fromisoformat(first.started_at)


def test_an_orphan_recovered_after_a_newer_run_never_moves_the_last_run_back(
        home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="s", query="SELECT id FROM orders WHERE id <= 3", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={})
    pstt.journal.begin(pstt.runner.prepare("s"))  # a process that died during this run
    newer = pstt.run("s")
    [orphan] = pstt.recover_runs()
    assert orphan.status == "interrupted" and orphan.started_at < newer.started_at
    per = pstt.scheduler_metrics.data()["schedules"]["s"]
    assert (per["runs"], per["success"], per["interrupted"]) == (2, 1, 1)
    assert (per["last_status"], per["last_run_at"], per["last_success_at"]) == (
        "success", newer.started_at, newer.started_at)
