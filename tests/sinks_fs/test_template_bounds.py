"""Bounded file-name templates: plain placeholders only, widths at most 200, a name at most
255 bytes and a path at most 4096 (refused at save when known, at run time otherwise); state
files are refused as a case-insensitive file system sees them; error texts in history and
logs are capped."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from pstt_core import ConfigError, Pstt
from pstt_core.logs import teardown_logging
from pstt_core.models import MAX_ERROR_CHARS
from tests.conftest import HomeBuilder, logs_text
from tests.sinks_fs.conftest import FsHome


@pytest.mark.parametrize(("template", "message"), [
    ("{ext:>20000000}", "too large"),
    ("{ext:>201}", "too large"),
    ("{export_id:.999}", "too large"),
    ("{ext:{ext}>20000000}", "too large"),
    ("{run_time:%999999999Y}", "too large"),
    ("{run_time.__class__}", "attribute and index lookups are not allowed"),
    ("{run_time.year}", "attribute and index lookups are not allowed"),
    ("{ext.__class__.__mro__}", "attribute and index lookups are not allowed"),
    ("{schedule_id[0]}", "attribute and index lookups are not allowed"),
    ("x" * 300 + ".{ext}", "at most 255"),
    ("{ext:>200}" * 2, "at most 255"),
])
def test_unbounded_templates_are_refused_at_save(fs: FsHome, template: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        fs.schedule(filename=template)
    assert err.value.path == "$.sink_options.filename"
    assert len(str(err.value)) < 1000
    assert fs.pstt.schedules.all() == {}


def test_widths_up_to_200_still_work(fs: FsHome) -> None:
    fs.schedule(filename="{schedule_id:_<20}{run_time:%Y}.{ext:>5}")
    record = fs.run()
    assert record.status == "success", record.error
    assert record.extra["path"].startswith("fs" + "_" * 18)


def test_the_20_mb_template_is_a_400_through_the_api(home: HomeBuilder) -> None:
    pstt = home.pstt(environ={"PSTT_SCHEDULER_ENABLED": "false"}, logs=False)
    client = TestClient(pstt.asgi_app(), base_url="http://localhost")
    resp = client.post("/api/schedules", json={
        "id": "big", "name": "Big", "connection": "demo", "query": "SELECT 1 AS x",
        "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "filesystem",
        "sink_options": {"format": "csv", "filename": "{ext:>20000000}"}})
    assert resp.status_code == 400
    assert resp.json()["path"] == "$.sink_options.filename"
    assert len(resp.content) < 2000
    assert client.get("/api/schedules").json()["schedules"] == []


def test_a_name_too_long_only_at_run_time_fails_the_run_briefly(fs: FsHome) -> None:
    fs.schedule(filename="{schedule_name}" * 4 + ".{ext}")  # "name" at save: short
    fs.pstt.patch_schedule("fs", {"name": "n" * 64})  # the slug is 64 characters
    record = fs.run()
    assert record.status == "failed"
    assert "at most 255" in (record.error or "") and len(record.error or "") < 500
    assert fs.files() == []


def test_a_path_over_4096_bytes_is_refused(fs: FsHome) -> None:
    deep = "/".join(["d" * 200] * 21)
    with pytest.raises(ConfigError, match="at most 4096") as err:
        fs.schedule(directory=deep)
    assert err.value.path == "$.sink_options.directory"


@pytest.mark.parametrize("name", ["Schedules.json", "SCHEDULES.JSON", "schedules.json.",
                                  "schedules.json ", "schedules.json. . ", "schedules.json:x",
                                  "schedules.json::$DATA", "Scheduler_History.json",
                                  "kafka_METRICS.json"])
def test_state_files_are_refused_case_insensitively(fs: FsHome, name: str) -> None:
    with pytest.raises(ConfigError, match="PSTT state file"):
        fs.schedule(filename=name)


def test_a_file_beside_the_state_files_is_fine(fs: FsHome) -> None:
    fs.schedule(filename="schedules.json.csv")
    assert fs.run().status == "success"


def test_error_texts_are_capped_in_history_and_logs(home: HomeBuilder) -> None:
    fs = FsHome(home)
    table = "t_" + "x" * 20_000  # SQLite names the missing table in its message
    fs.schedule(query=f"SELECT * FROM {table}")
    try:
        record = Pstt(home.root).run("fs")  # with the daily log
    finally:
        teardown_logging(home.root / "logs")
    assert record.status == "failed" and "no such table" in (record.error or "")
    error = record.error or ""
    assert len(error) <= MAX_ERROR_CHARS + 60
    assert error.endswith("more characters cut]")
    stored = json.loads((fs.exports / "scheduler_history.json").read_text())
    runs = stored if isinstance(stored, list) else stored["runs"]
    assert max(len(r.get("error") or "") for r in runs) <= MAX_ERROR_CHARS + 60
    log = logs_text(home.root)
    assert "more characters cut]" in log
    assert max(len(line) for line in log.splitlines()) < MAX_ERROR_CHARS + 1000
