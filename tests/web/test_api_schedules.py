"""``/api/schedules``: CRUD, enable/disable and the validation errors (TestClient)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

NEW = {"name": "Daily revenue", "connection": "demo", "query": "SELECT 1 AS one",
       "trigger": {"type": "cron", "expression": "0 6 * * *"}, "timezone": "Europe/Rome",
       "sharing_mode": "filesystem", "sink_options": {"format": "jsonl"}}


def test_list_returns_schedules_with_bookkeeping(client: TestClient) -> None:
    body = client.get("/api/schedules").json()
    assert [s["id"] for s in body["schedules"]] == ["orders"]
    sched = body["schedules"][0]
    assert sched["sharing_mode"] == "filesystem" and sched["sink_options"]["format"] == "csv"
    assert sched["trigger"] == {"type": "interval", "seconds": 3600}
    assert {"next_run", "last_run", "running"} <= set(sched)
    assert body["invalid"] == []


def test_create_get_replace_patch_delete(client: TestClient) -> None:
    created = client.post("/api/schedules", json=NEW)
    assert created.status_code == 201, created.text
    sched = created.json()
    assert sched["id"] == "daily-revenue"  # derived from the name
    assert sched["sink_options"]["format"] == "jsonl"
    assert sched["sink_options"]["filename"]  # defaults filled in by the sink's option class
    assert client.get("/api/schedules/daily-revenue").json()["query"] == "SELECT 1 AS one"

    replaced = client.put("/api/schedules/daily-revenue", json={**NEW, "query": "SELECT 2 AS two"})
    assert replaced.status_code == 200 and replaced.json()["query"] == "SELECT 2 AS two"
    patched = client.patch("/api/schedules/daily-revenue", json={"description": "patched"})
    assert patched.json()["description"] == "patched"
    assert patched.json()["query"] == "SELECT 2 AS two"

    assert client.delete("/api/schedules/daily-revenue").status_code == 204
    assert client.get("/api/schedules/daily-revenue").status_code == 404
    assert client.delete("/api/schedules/daily-revenue").status_code == 404


def test_enable_and_disable(client: TestClient) -> None:
    assert client.post("/api/schedules/orders/disable").json()["enabled"] is False
    assert client.get("/api/schedules/orders").json()["enabled"] is False
    assert client.post("/api/schedules/orders/enable").json()["enabled"] is True
    assert client.post("/api/schedules/nope/enable").status_code == 404


def test_create_duplicate_is_409(client: TestClient) -> None:
    assert client.post("/api/schedules", json={**NEW, "id": "orders"}).status_code == 409


def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) >= {"error"} and "Traceback" not in resp.text
    return body


def test_validation_errors_name_the_field(client: TestClient) -> None:
    cases = [
        ({**NEW, "connection": "nowhere"}, "$.connection", "unknown database"),
        ({**NEW, "timezone": "Mars/Base"}, "$.timezone", "time zone"),
        ({**NEW, "trigger": {"type": "cron", "expression": "* *"}}, "$.trigger.expression", "5 fields"),
        ({**NEW, "sharing_mode": "pigeon"}, "$.sharing_mode", "unknown sharing mode"),
        ({**NEW, "sink_options": {"format": "csv", "delimiter": ";;"}},
         "$.sink_options.delimiter", "single character"),
        ({**NEW, "sink_options": {"colour": "red"}}, "$.sink_options", "colour"),
        ({**NEW, "sink_options": {"directory": "../../etc"}}, "$.sink_options.directory", "escapes"),
        ({k: v for k, v in NEW.items() if k != "query"}, "$.query", "required"),
    ]
    for data, path, text in cases:
        body = _error(client.post("/api/schedules", json=data), 400)
        assert body["path"].startswith(path), (path, body)
        assert text in body["error"], (text, body)


def test_malformed_and_wrong_bodies(client: TestClient) -> None:
    resp = client.post("/api/schedules", content=b"{not json", headers={"Content-Type": "application/json"})
    assert "not valid JSON" in _error(resp, 400)["error"]
    resp = client.post("/api/schedules", content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert "JSON object" in _error(resp, 400)["error"]
    resp = client.post("/api/schedules", content=b"", headers={"Content-Type": "application/json"})
    assert "empty" in _error(resp, 400)["error"]
    resp = client.post("/api/schedules", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert "application/json" in _error(resp, 415)["error"]
    resp = client.put("/api/schedules/nope", json=NEW)
    _error(resp, 404)
    resp = client.patch("/api/schedules/orders", json={"batch_size": 0})
    assert _error(resp, 400)["path"] == "$.batch_size"


def test_wrong_method_is_json_405(client: TestClient) -> None:
    body = _error(client.post("/api/history"), 405)
    assert body["error"]


def test_next_runs_and_trigger_preview(client: TestClient) -> None:
    client.patch("/api/schedules/orders", json={
        "trigger": {"type": "cron", "expression": "0 7 * * 1-5"}, "timezone": "Europe/Rome"})
    runs = client.get("/api/schedules/orders").json()["next_runs"]
    assert len(runs) == 5
    from datetime import datetime

    times = [datetime.fromisoformat(t) for t in runs]
    assert all(t.strftime("%H:%M") == "07:00" and t.weekday() < 5 for t in times)
    assert all(t.utcoffset() is not None for t in times)

    preview = client.post("/api/triggers/preview", json={
        "trigger": {"type": "cron", "expression": "30 2 * * *"}, "timezone": "Europe/Rome",
        "count": 3})
    assert preview.status_code == 200
    assert len(preview.json()["next_runs"]) == 3
    bad = client.post("/api/triggers/preview",
                      json={"trigger": {"type": "cron", "expression": "0 7 * * 8"}})
    assert bad.status_code == 400
    assert bad.json() == {"error": "day-of-week: 8 is out of range 0-7",
                          "path": "trigger.expression"}
    zone = client.post("/api/triggers/preview", json={
        "trigger": {"type": "interval", "seconds": 60}, "timezone": "Mars/Olympus"})
    assert zone.status_code == 400 and zone.json()["path"] == "timezone"
    # the calendar ends in year 9999: an interval of millennia has few fire times, or none
    for days, fires in ((2_000_000, 1), (10**9, 0)):
        long = client.post("/api/triggers/preview",
                           json={"trigger": {"type": "interval", "days": days}})
        assert long.status_code == 200 and len(long.json()["next_runs"]) == fires
