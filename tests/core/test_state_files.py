"""Damaged or hand-edited state files: a clear error naming the file, never a rewrite or a
reset, no 500 anywhere, ``serve`` exits 2, and ``pstt state repair`` starts one afresh."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import HomeBuilder, free_port, pstt_process

GOOD = {
    "schedules.json": None,  # written by the HomeBuilder
    "scheduler_history.json": [{"export_id": "e1", "schedule_id": "s1", "sharing_mode": "filesystem",
                                "status": "success", "started_at": "2026-01-01T00:00:00+00:00",
                                "rows": 3}],
    "scheduler_metrics.json": {"total": {"runs": 1}, "schedules": {"s1": {"runs": 1}}},
    "kafka_metrics.json": {"buckets": [{"hour": "2026-01-01T00:00:00+00:00", "topic": "t",
                                        "connection": "local", "messages": 1}]},
}
DAMAGES = {
    "schedules.json": {"truncated": '{"schedules": [{"id": "s1", "na', "wrong type": '"oops"',
                       "wrong field types": '{"schedules": "oops"}'},
    "scheduler_history.json": {"truncated": '[{"export_id": "e1", "sta',
                               "wrong type": '{"runs": "oops"}',
                               "wrong field types": '[{"export_id": "e1", "rows": "many"}]'},
    "scheduler_metrics.json": {"truncated": '{"total": {"runs": 1', "wrong type": "[]",
                               "wrong field types": '{"total": {"runs": "one"}}'},
    "kafka_metrics.json": {"truncated": '{"buckets": [{"hour"', "wrong type": '"oops"',
                           "wrong field types": '{"buckets": [{"hour": "h", "topic": "t", '
                                                '"connection": "c", "messages": "lots"}]}'},
}
CASES = [(name, how) for name, ways in DAMAGES.items() for how in ways]
PAGES = ["/", "/scheduler", "/history", "/settings", "/logs", "/kafka", "/api/schedules",
         "/api/schedules/s1", "/api/history", "/api/health", "/api/scheduler", "/metrics",
         "/api/kafka/metrics/summary", "/api/kafka/metrics/hourly", "/api/kafka/metrics/topics",
         "/api/runs/e1"]


def _damaged_home(home: HomeBuilder, name: str, how: str) -> Path:
    home.connections["kafka_connections"] = [{"name": "local",
                                              "bootstrap_servers": ["127.0.0.1:9"]}]
    home.add_schedule(id="s1", sink_options={"filename": "s1_{export_id}.csv"})
    root = home.write()
    for other, data in GOOD.items():
        if data is not None:
            (root / "exports" / other).write_text(json.dumps(data))
    (root / "exports" / name).write_text(DAMAGES[name][how])
    return root


@pytest.mark.slow
@pytest.mark.parametrize(("name", "how"), CASES)
def test_damaged_state_file_is_reported_never_rewritten(home: HomeBuilder, name: str,
                                                        how: str) -> None:
    root = _damaged_home(home, name, how)
    path = root / "exports" / name
    before = path.read_bytes()

    check = pstt_process(root, "check", "--offline")
    assert check.returncode == 1
    assert f"✗ state file {path}" in check.stdout, check.stdout + check.stderr

    run = pstt_process(root, "run", "s1")
    assert run.returncode != 0
    assert str(path) in run.stderr and "Traceback" not in run.stderr

    serve = pstt_process(root, "serve", "--port", str(free_port()))
    assert serve.returncode == 2, serve.stderr
    assert str(path) in serve.stderr and "Traceback" not in serve.stderr

    from pstt_core import Pstt

    pstt = Pstt(root, environ={}, logs=False)
    # no lifespan: a damaged kafka_metrics.json stops the start itself (checked above)
    with contextlib.nullcontext(TestClient(pstt.asgi_app(), raise_server_exceptions=False, base_url="http://localhost")) \
            as client:
        for url in PAGES:
            response = client.get(url)
            assert response.status_code < 500 or response.status_code == 503, (url, response.text)
            if response.status_code == 503 and url.startswith("/api"):
                assert name in response.json()["error"]
        client.cookies.clear()  # the pages set a session cookie; an API client has none
        ran = client.post("/api/schedules/s1/run")
        if name != "kafka_metrics.json":  # a filesystem run does not touch that one
            assert ran.status_code in (400, 503), ran.text
    assert path.read_bytes() == before  # never rewritten, reset or partly kept


def test_repair_moves_the_file_aside_and_starts_afresh(home: HomeBuilder) -> None:
    root = _damaged_home(home, "scheduler_history.json", "wrong type")
    path = root / "exports" / "scheduler_history.json"
    failed = pstt_process(root, "run", "s1")
    assert failed.returncode == 4, failed.stderr  # refused, its record kept in the journal
    assert "could not be written" in failed.stderr

    repaired = pstt_process(root, "state", "repair", "scheduler_history.json")
    assert repaired.returncode == 0, repaired.stderr
    aside = list(path.parent.glob("scheduler_history.json.damaged-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"runs": "oops"}'
    assert "added 1 record(s)" in repaired.stdout
    records = json.loads(path.read_text())
    assert [r["status"] for r in records] == ["failed"]
    assert "scheduler_history.json" in records[0]["error"]

    ok = pstt_process(root, "run", "s1")
    assert ok.returncode == 0, ok.stderr
    assert pstt_process(root, "state", "repair", "scheduler_history.json").stdout.endswith(
        "nothing to repair (use --force to start it afresh anyway)\n")
