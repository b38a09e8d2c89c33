"""Fire claims and the instance id of the files backend (several processes on one home)."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pstt_core.claims import KEEP_SEC, FileClaims
from pstt_core.instance import instance_id
from tests.conftest import HomeBuilder


def _claim_in_child(directory: str, at: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    claims = FileClaims(Path(directory), lambda: "child")
    out.put(claims.claim("orders", datetime.fromisoformat(at)))


def test_a_fire_is_claimed_by_one_process_only(tmp_path: Path) -> None:
    at = datetime.now(timezone.utc).replace(microsecond=0)
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    children = [ctx.Process(target=_claim_in_child, args=(str(tmp_path), at.isoformat(), out))
                for _ in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert sorted(out.get(timeout=5) for _ in children) == [False, False, False, True]
    claims = FileClaims(tmp_path, lambda: "parent")
    assert claims.holder("orders", at) == "child"
    assert not claims.claim("orders", at.astimezone(timezone(timedelta(hours=1))))  # same fire
    assert claims.claim("orders", at + timedelta(seconds=1))
    assert claims.claim("other/odd id", at)  # any id: hashed into a file name


def test_old_claims_are_pruned(tmp_path: Path) -> None:
    claims = FileClaims(tmp_path, lambda: "me")
    now = datetime.now(timezone.utc)
    old, recent = now - timedelta(seconds=KEEP_SEC + 60), now - timedelta(seconds=60)
    assert claims.claim("s", recent) and claims.claim("s", old)  # pruning: at most every 10 min
    assert claims.prune(now) == 1
    assert claims.holder("s", old) is None and claims.holder("s", recent) == "me"


def test_the_instance_id_is_host_and_a_name_of_the_home(home: HomeBuilder,
                                                         tmp_path_factory: Any) -> None:
    generated = home.pstt(logs=False).instance
    host, name = generated.split("/")
    assert name.startswith("home-") and len(name) == len("home-") + 8
    assert home.pstt(logs=False).instance == generated  # stable across processes
    assert instance_id("", tmp_path_factory.mktemp("other")) != generated  # one per home
    named = home.pstt(logs=False, environ={"PSTT_INSTANCE_NAME": "blue"})
    assert named.instance == f"{host}/blue"


def test_records_carry_the_fire_time_and_the_instance(home: HomeBuilder) -> None:
    home.add_schedule(id="tick", query="SELECT 1 AS one", trigger={"type": "interval", "seconds": 1},
                      sink_options={"format": "csv", "filename": "t_{export_id}.csv"})
    pstt = home.pstt(logs=False, environ={"PSTT_INSTANCE_NAME": "green"})
    manual = pstt.run("tick")
    assert (manual.scheduled_at, manual.instance.split("/")[1]) == (None, "green")
    with pstt:
        import time
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not pstt.history.query(
                schedule_id="tick", status="success", limit=None)[1][:-1]:
            time.sleep(0.1)
    fired = [r for r in pstt.history.query(schedule_id="tick", limit=None)[1]
             if r["trigger"] == "schedule"]
    assert fired, "no scheduled fire in 10 s"
    at = datetime.fromisoformat(fired[0]["scheduled_at"])
    assert at.microsecond == 0 and at.utcoffset() == timedelta(0)  # on the 1 s grid, in UTC
    assert fired[0]["instance"] == manual.instance


def test_a_run_starts_when_it_holds_its_schedule_not_when_it_was_prepared(
        home: HomeBuilder) -> None:
    """A fire prepared while another instance's run still held the schedule: its record starts
    once it holds it, so the two records never seem to overlap."""
    import time

    from pstt_core.models import iso, utcnow

    home.add_schedule(id="orders", sink_options={"format": "csv", "filename": "o_{export_id}.csv"})
    pstt = home.pstt(logs=False)
    try:
        run = pstt.runner.prepare("orders", trigger="schedule")
        time.sleep(0.3)  # the previous run ends meanwhile
        holds = utcnow()
        record = pstt.runner.run(run, skip_if_running=True)
    finally:
        pstt.close()
    assert record.status == "success"
    assert record.started_at >= (iso(holds) or "")
