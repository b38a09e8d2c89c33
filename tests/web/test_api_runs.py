"""Run now (wait / background / conflict), one run, and the history filters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import HomeBuilder, wait_for
from tests.web.conftest import csv_schedule


def test_run_waits_and_returns_the_record(client: TestClient, home: HomeBuilder) -> None:
    resp = client.post("/api/schedules/orders/run")
    assert resp.status_code == 200, resp.text
    rec = resp.json()
    assert rec["status"] == "success" and rec["rows"] == 500
    assert rec["schedule_id"] == "orders" and rec["sharing_mode"] == "filesystem"
    assert (home.root / "exports" / rec["path"]).is_file()
    assert client.get(f"/api/runs/{rec['export_id']}").json()["rows"] == 500
    assert client.get("/api/runs/not-an-id").status_code == 404
    assert client.post("/api/schedules/ghost/run").status_code == 404


def test_failed_run_is_a_record_not_an_http_error(home: HomeBuilder,
                                                  make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home, "broken", query="SELECT * FROM no_such_table")
    rec = make_client().post("/api/schedules/broken/run").json()
    assert rec["status"] == "failed" and "no_such_table" in rec["error"]


def _finished(client: TestClient, export_id: str, timeout: float = 20) -> dict[str, Any]:
    def record() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/runs/{export_id}").json()
        return body if body.get("status") not in (None, "running") else None

    return wait_for(record, timeout, what="background run finished")


# a recursive CTE that keeps SQLite busy for a second or two
SLOW = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000000) "
        "SELECT count(*) AS c FROM n")


def test_background_run_and_conflict(home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home, "slow", query=SLOW)
    client = make_client()
    started = client.post("/api/schedules/slow/run?background=true")
    assert started.status_code == 202, started.text
    export_id = started.json()["export_id"]
    assert started.json()["status"] == "running"
    assert client.get(f"/api/runs/{export_id}").json()["status"] == "running"
    conflict = client.post("/api/schedules/slow/run")
    assert conflict.status_code == 409 and "already running" in conflict.json()["error"]
    again = client.post("/api/schedules/slow/run?background=true")
    assert again.status_code == 409
    record = _finished(client, export_id)
    assert record["status"] == "success" and record["rows"] == 1
    assert client.post("/api/schedules/slow/run?background=maybe").status_code == 400


def test_run_does_not_block_the_event_loop(home: HomeBuilder,
                                           make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home, "slow", query=SLOW)
    client = make_client()
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(client.post("/api/schedules/slow/run").json()))
    runner.start()
    while not client.get("/api/scheduler").json()["runs_in_progress"]:
        assert runner.is_alive(), "the run finished before it could be observed"
        time.sleep(0.01)
    # while the run is in progress, other requests are answered
    t0 = time.monotonic()
    assert client.get("/api/health").status_code == 200
    assert time.monotonic() - t0 < 2
    assert runner.is_alive()
    runner.join(30)
    assert result["status"] == "success"


def test_history_filters_and_paging(home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home, "good")
    csv_schedule(home, "bad", query="SELECT * FROM missing")
    client = make_client()
    for sid in ("good", "bad", "good"):
        client.post(f"/api/schedules/{sid}/run")
    all_runs = client.get("/api/history").json()
    assert all_runs["total"] == 3 and len(all_runs["runs"]) == 3
    assert [r["schedule_id"] for r in all_runs["runs"]] == ["good", "bad", "good"]  # newest first
    good = client.get("/api/history?schedule_id=good").json()
    assert good["total"] == 2 and {r["schedule_id"] for r in good["runs"]} == {"good"}
    failed = client.get("/api/history?status=failed").json()
    assert [r["schedule_id"] for r in failed["runs"]] == ["bad"]
    assert client.get("/api/history?sharing_mode=kafka").json()["total"] == 0
    page = client.get("/api/history?limit=1&offset=1").json()
    assert page["total"] == 3 and len(page["runs"]) == 1
    assert page["runs"][0]["export_id"] == all_runs["runs"][1]["export_id"]
    started = all_runs["runs"][1]["started_at"]
    assert client.get("/api/history", params={"since": started}).json()["total"] == 2
    assert client.get("/api/history", params={"until": started}).json()["total"] == 2
    assert client.get("/api/history?since=2999-01-01T00:00:00Z").json()["total"] == 0
    for bad in ("limit=0", "limit=abc", "offset=-1", "status=great", "since=yesterday",
                "until=2026-13-01"):
        resp = client.get(f"/api/history?{bad}")
        assert resp.status_code == 400, bad
        assert resp.json()["path"] == bad.split("=")[0]


def test_a_polled_run_is_never_missing(home: HomeBuilder, make_client: Callable[..., TestClient],
                                       monkeypatch: Any) -> None:
    """The pages poll ``GET /api/runs/{id}`` after a background start: between leaving the
    running table and reaching the history the run must not be a 404, however slow the
    history disk is."""
    csv_schedule(home)
    client = make_client()
    pstt = client.app.state.pstt  # type: ignore[attr-defined]
    slow_append = pstt.history.append

    def append_on_a_slow_disk(record: Any) -> None:
        time.sleep(0.5)
        slow_append(record)

    monkeypatch.setattr(pstt.history, "append", append_on_a_slow_disk)
    export_id = client.post("/api/schedules/orders/run?background=true").json()["export_id"]
    seen = []

    def settled() -> Any:
        resp = client.get(f"/api/runs/{export_id}")
        seen.append(resp.status_code)
        return resp if resp.status_code != 200 or resp.json()["status"] != "running" else None

    resp = wait_for(settled, 20, interval=0.02, what="run no longer running")
    assert set(seen) == {200}, seen
    assert resp.json()["status"] == "success" and resp.json()["rows"] == 500
