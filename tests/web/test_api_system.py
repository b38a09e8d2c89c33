"""Scheduler, health, plugins, settings, connections (+ tests) and logs endpoints."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pstt_core import HealthCheck, HealthResult, hookimpl
from pstt_core.web import health as web_health
from tests.conftest import HomeBuilder, registered
from tests.web.conftest import csv_schedule
from tests.web.plugin_fixture import hook_plugin


def test_scheduler_reports_jobs_next_runs_and_metrics(home: HomeBuilder,
                                                      make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home, "a")
    csv_schedule(home, "off", enabled=False)
    client = make_client(PSTT_SCHEDULER_ENABLED="true")
    client.post("/api/schedules/a/run")
    body = client.get("/api/scheduler").json()
    assert body["running"] is True
    assert [j["id"] for j in body["jobs"]] == ["a"]
    assert body["jobs"][0]["next_run_time"]
    assert body["metrics"]["schedules"]["a"]["success"] == 1
    assert body["metrics"]["total"]["rows"] == 500
    listed = client.get("/api/schedules").json()["schedules"]
    assert {s["id"]: bool(s["next_run"]) for s in listed} == {"a": True, "off": False}


def test_health_lists_every_check(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "healthy"
    assert body["scheduler"] == {"running": False, "started": True}
    names = {c["name"]: c for c in body["checks"]}
    assert {"scheduler", "databases"} <= set(names)
    assert names["databases"]["data"]["connections"][0]["success"] is True


def test_health_reports_an_unreachable_database(home: HomeBuilder,
                                                make_client: Callable[..., TestClient]) -> None:
    home.add_database("gone", "postgresql+psycopg://u:pw@127.0.0.1:1/none")
    body = make_client().get("/api/health").json()
    assert body["status"] == "degraded"
    db = next(c for c in body["checks"] if c["name"] == "databases")
    assert "gone" in db["detail"]


def test_plugins_lists_versions_and_option_schemas(client: TestClient) -> None:
    body = client.get("/api/plugins").json()
    names = {p["name"]: p for p in body["plugins"]}
    assert {"pstt_core", "filesystem"} <= set(names)
    assert names["filesystem"]["version"]
    fs = next(s for s in body["sinks"] if s["name"] == "filesystem")
    assert fs["available"] is True and fs["plugin"] == "filesystem"
    fields = {f["name"]: f for f in fs["options"]}
    assert fields["format"]["widget"] == "select" and "csv" in fields["format"]["choices"]
    assert fields["delimiter"]["advanced"] is True
    assert {f["name"] for f in body["formats"]} >= {"csv", "jsonl"}


def test_settings_are_masked(home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    client = make_client(PSTT_API_TOKEN="sup3r-s3cret-token", PSTT_SECRET_KEY="another-s3cret")
    resp = client.get("/api/settings", headers={"Authorization": "Bearer sup3r-s3cret-token"})
    rows = {r["name"]: r for r in resp.json()["settings"]}
    assert rows["PSTT_API_TOKEN"]["value"] == "********"
    assert rows["PSTT_API_TOKEN"]["source"] == "environment"
    assert rows["PSTT_PORT"]["value"] == 8000
    assert "sup3r-s3cret-token" not in resp.text and "another-s3cret" not in resp.text


def test_connections_hide_passwords_and_test_databases(home: HomeBuilder, tmp_path: Path,
                                                       make_client: Callable[..., TestClient]) -> None:
    home.connections["databases"].append({"name": "pg", "driver": "postgresql", "host": "127.0.0.1",
                                          "port": 1, "database": "x", "username": "etl",
                                          "password": "${PG_PW}"})
    home.connections["hook_endpoints"] = [
        {"name": "near", "host": "127.0.0.1", "password": "${HOOK_PW}"},
        {"name": "far", "host": "10.255.255.1"}]
    (home.root / ".env").write_text("PG_PW=pg-Pa55word-xyz\nHOOK_PW=hook-Pa55word-xyz\n")
    with hook_plugin(tmp_path):
        client = make_client()
        resp = client.get("/api/connections")
        body = resp.json()
        assert "pg-Pa55word-xyz" not in resp.text and "hook-Pa55word-xyz" not in resp.text
        pg = next(d for d in body["databases"] if d["name"] == "pg")
        assert pg["url"].startswith("postgresql+psycopg://etl:***@127.0.0.1:1/x")
        section = next(s for s in body["sections"] if s["name"] == "hook_endpoints")
        assert section["testable"] is True and section["label"] == "Hook endpoints"
        assert section["entries"][0]["password"] == "********"

        ok = client.post("/api/connections/databases/demo/test").json()
        assert ok["success"] is True and ok["latency_ms"] >= 0
        bad = client.post("/api/connections/databases/pg/test")
        assert bad.status_code == 200 and bad.json()["success"] is False
        assert bad.json()["error"] and "pg-Pa55word-xyz" not in bad.text
        assert client.post("/api/connections/databases/nope/test").status_code == 404

        assert client.post("/api/connections/hook_endpoints/near/test").json()["success"] is True
        far = client.post("/api/connections/hook_endpoints/far/test").json()
        assert far == {"name": "far", "success": False, "latency_ms": 0.1,
                       "error": "cannot reach 10.255.255.1"}
        assert client.post("/api/connections/hook_endpoints/zzz/test").status_code == 404
        assert client.post("/api/connections/no_section/x/test").status_code == 404


def test_logs_tail_level_and_search(client: TestClient) -> None:
    log = logging.getLogger("pstt.test")
    log.info("api-marker one")
    log.warning("api-marker two")
    log.error("api-marker three")
    entries = client.get("/api/logs?search=api-marker").json()["entries"]
    assert [e["text"].split("api-marker ")[1] for e in entries] == ["one", "two", "three"]
    warn = client.get("/api/logs?search=api-marker&level=warning").json()["entries"]
    assert [e["level"] for e in warn] == ["WARNING", "ERROR"]
    last = client.get("/api/logs?search=api-marker&tail=1").json()
    assert last["count"] == 1 and "three" in last["entries"][0]["text"]
    assert client.get("/api/logs?level=loud").status_code == 400
    assert client.get("/api/logs?tail=0").status_code == 400


class SlowCheckPlugin:
    @hookimpl
    def register_health_checks(self, register: Callable[[Any], None]) -> None:
        register(HealthCheck("slow", lambda pstt: time.sleep(3) or HealthResult("healthy")))


def test_a_hanging_health_check_does_not_hang_pages_or_probes(
        home: HomeBuilder, make_client: Callable[..., TestClient],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_health, "HEALTH_TIMEOUT_SEC", 0.2)
    with registered(SlowCheckPlugin(), "slow-health-test"):
        client = make_client()
        t0 = time.monotonic()
        body = client.get("/api/health").json()
        assert time.monotonic() - t0 < 2.0  # the check itself sleeps 3 s
        assert body["status"] == "unhealthy" and "did not finish" in body["checks"][0]["detail"]
        page = client.get("/")
        assert page.status_code == 200 and "did not finish within 0.2 s" in page.text
