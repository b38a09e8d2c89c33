"""Retention (keep_last / keep_days) removes only this schedule's earlier files."""

from __future__ import annotations

import os
import time

import pytest

from pstt_core import RecordNotWrittenError
from tests.conftest import HomeBuilder
from tests.sinks_fs.conftest import FsHome

TEMPLATE = "orders_{export_id}.csv"


def age(path: os.PathLike[str], days: float) -> None:
    when = time.time() - days * 86400
    os.utime(path, (when, when))


def test_keep_last_keeps_the_newest_files_of_this_schedule_only(fs: FsHome) -> None:
    # Two schedules with the same template in the same directory, plus a stranger's file
    # that matches the pattern: only the first schedule's own files are candidates.
    fs.schedule("mine", directory="out", filename=TEMPLATE, keep_last=2)
    fs.schedule("theirs", directory="out", filename=TEMPLATE)
    (fs.exports / "out").mkdir()
    stranger = fs.exports / "out" / "orders_manual-copy.csv"
    stranger.write_text("keep me\n", encoding="utf-8")
    age(stranger, 30)
    theirs = [fs.run("theirs").extra["path"] for _ in range(2)]
    mine = []
    for i in range(4):
        record = fs.run("mine")
        mine.append(record.extra["path"])
        age(fs.exports / record.extra["path"], 4 - i)  # older runs look older on disk
    assert record.extra.get("files_removed") == 1
    remaining = {f"out/{name}" for name in fs.files("out")}
    assert remaining == set(mine[2:]) | set(theirs) | {"out/orders_manual-copy.csv"}


def test_keep_last_one_keeps_just_the_current_file(fs: FsHome) -> None:
    fs.schedule(filename=TEMPLATE, keep_last=1)
    paths = [fs.run().extra["path"] for _ in range(3)]
    assert fs.files() == [paths[-1]]


def test_keep_days_deletes_only_old_files_of_this_schedule(fs: FsHome) -> None:
    fs.schedule("mine", filename=TEMPLATE, keep_days=7)
    fs.schedule("theirs", filename=TEMPLATE)
    old_mine = fs.run("mine").extra["path"]
    recent_mine = fs.run("mine").extra["path"]
    old_theirs = fs.run("theirs").extra["path"]
    unrelated = fs.exports / "orders_old-report.csv"
    unrelated.write_text("x\n", encoding="utf-8")
    for path in (old_mine, old_theirs):
        age(fs.exports / path, 10)
    age(unrelated, 100)
    age(fs.exports / recent_mine, 2)
    record = fs.run("mine")
    assert record.extra.get("files_removed") == 1
    assert set(fs.files()) == {recent_mine, old_theirs, record.extra["path"],
                               "orders_old-report.csv"}


def test_failed_runs_do_not_trigger_retention(fs: FsHome) -> None:
    fs.schedule(filename="fixed.csv", keep_last=1)
    assert fs.run().status == "success"
    failed = fs.run()  # the file exists and overwrite is off
    assert failed.status == "failed"
    assert fs.files() == ["fixed.csv"]


def test_overwritten_fixed_name_is_never_removed(fs: FsHome) -> None:
    fs.schedule(filename="latest.csv", overwrite=True, keep_last=1, keep_days=1)
    for _ in range(3):
        record = fs.run()
        assert record.status == "success"
        age(fs.exports / "latest.csv", 5)
    assert fs.files() == ["latest.csv"]


def test_history_damaged_during_the_run_does_not_fail_a_delivered_file(fs: FsHome) -> None:
    fs.schedule(filename=TEMPLATE, keep_last=1, batch_size=100)
    assert fs.run().status == "success"
    history = fs.pstt.history.file.path

    def damage(rows: int) -> None:  # after the run started (a damaged history refuses it)
        history.write_text("{ not json", encoding="utf-8")

    with pytest.raises(RecordNotWrittenError) as err:
        fs.run(progress=damage)
    record = err.value.record
    assert record.status == "success"
    assert "invalid JSON" in record.extra["retention_error"]
    assert fs.path(record).is_file()
    assert history.read_text(encoding="utf-8") == "{ not json"  # never written over


def test_retention_holds_when_a_busy_schedule_pushes_records_out_of_the_history(
        home: HomeBuilder) -> None:
    fs = FsHome(home, environ={"PSTT_HISTORY_MAX_RECORDS": "10"})
    fs.schedule("daily", directory="daily", filename=TEMPLATE, keep_last=3)
    fs.schedule("busy", directory="busy", filename=TEMPLATE, keep_last=2,
                query="SELECT * FROM orders WHERE id <= 3")
    daily = [fs.run("daily").extra["path"] for _ in range(3)]
    for _ in range(15):  # the daily schedule's records leave the 10-record history
        fs.run("busy")
    assert not any(r["schedule_id"] == "daily" for r in fs.pstt.history.query(limit=None)[1])
    daily += [fs.run("daily").extra["path"] for _ in range(3)]
    assert fs.files("daily") == sorted(p.split("/", 1)[1] for p in daily[3:])
    assert len(fs.files("busy")) == 2

