"""No schedule can take the service down: trigger periods, ``timeout_sec``,
and ``misfire_grace_sec`` are bounded and finite, refused at save with the JSON
path (nothing saved), and one already in ``schedules.json`` is reported invalid and skipped —
the API, ``pstt check`` and ``pstt serve`` keep working."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import HomeBuilder, free_port, pstt_process, wait_listening
from tests.web.conftest import csv_schedule

BASE = {"name": "Bounded", "connection": "demo", "query": "SELECT 1 AS x",
        "sharing_mode": "filesystem", "sink_options": {"format": "csv", "filename": "b.csv"},
        "trigger": {"type": "interval", "seconds": 60}}

# (changes to BASE, the JSON path the error must name)
BAD: list[tuple[dict[str, Any], str]] = [
    ({"trigger": {"type": "interval", "days": 999999999}}, "$.trigger"),
    ({"trigger": {"type": "interval", "days": 367}}, "$.trigger"),
    ({"trigger": {"type": "interval", "seconds": 1e300}}, "$.trigger"),
    ({"trigger": {"type": "interval", "seconds": 0}}, "$.trigger"),
    ({"trigger": {"type": "interval", "seconds": -5, "minutes": 1}}, "$.trigger.seconds"),
    ({"trigger": {"type": "interval", "hours": 10**30}}, "$.trigger"),
    ({"misfire_grace_sec": -1}, "$.misfire_grace_sec"),
    ({"misfire_grace_sec": 0}, "$.misfire_grace_sec"),
    ({"misfire_grace_sec": 10**12}, "$.misfire_grace_sec"),
    ({"timeout_sec": 1e300}, "$.timeout_sec"),
    ({"timeout_sec": -1}, "$.timeout_sec"),
    ({"timeout_sec": "nan"}, "$.timeout_sec"),
    ({"timeout_sec": "inf"}, "$.timeout_sec"),
    ({"batch_size": 0}, "$.batch_size"),
]


def _stored(home: HomeBuilder) -> Any:
    return json.loads((home.root / "exports" / "schedules.json").read_text())


@pytest.mark.parametrize(("changes", "path"), BAD, ids=[json.dumps(c) for c, _ in BAD])
def test_a_bad_timing_value_is_refused_with_its_path(client: TestClient, home: HomeBuilder,
                                                     changes: dict[str, Any], path: str) -> None:
    before = _stored(home)
    resp = client.post("/api/schedules", json={**BASE, "id": "bounded", **changes})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["path"] == path or path in [e["path"] for e in body.get("errors", [])], body
    assert _stored(home) == before  # nothing saved
    # an existing schedule cannot be changed to it either
    patch = client.patch("/api/schedules/orders", json=changes)
    assert patch.status_code == 400, patch.text
    assert _stored(home) == before
    # the service still creates schedules afterwards
    ok = client.post("/api/schedules", json={**BASE, "id": "after"})
    assert ok.status_code == 201, ok.text
    assert client.get("/api/schedules").status_code == 200


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_numbers(client: TestClient, home: HomeBuilder,
                                               constant: str) -> None:
    before = _stored(home)
    body = json.dumps({**BASE, "id": "nan"})[:-1] + f', "timeout_sec": {constant}}}'
    resp = client.post("/api/schedules", content=body,
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert constant.lstrip("-") in resp.json()["error"] and resp.json()["path"] == "$"
    assert _stored(home) == before
    assert client.get("/api/schedules").status_code == 200


def test_the_bounds_themselves_are_accepted(client: TestClient) -> None:
    for changes in ({"trigger": {"type": "interval", "seconds": 1}},
                    {"trigger": {"type": "interval", "days": 366}},
                    {"misfire_grace_sec": None}, {"misfire_grace_sec": 1},
                    {"timeout_sec": 0.5}):
        resp = client.post("/api/schedules", json={**BASE, "id": "edge", **changes})
        assert resp.status_code == 201, (changes, resp.text)
        assert client.delete("/api/schedules/edge").status_code == 204


def _plant_bad_schedules(home: HomeBuilder) -> None:
    """Values saved by an older version (or by hand) that passed its validation."""
    csv_schedule(home, "good", trigger={"type": "interval", "seconds": 3600})
    csv_schedule(home, "huge", trigger={"type": "interval", "days": 999999999})
    csv_schedule(home, "tiny-grace", misfire_grace_sec=-1)
    csv_schedule(home, "far", trigger={"type": "interval", "seconds": 1e300})
    csv_schedule(home, "nan-timeout", timeout_sec=float("nan"))
    home.write()  # Python writes NaN as the bare word NaN
    assert "NaN" in (home.root / "exports" / "schedules.json").read_text()


BAD_IDS = {"huge", "tiny-grace", "far", "nan-timeout"}


def test_saved_bad_schedules_are_reported_and_skipped(home: HomeBuilder,
                                                      make_client: Callable[..., TestClient]) -> None:
    _plant_bad_schedules(home)
    client = make_client(PSTT_SCHEDULER_ENABLED="true")
    listed = client.get("/api/schedules")
    assert listed.status_code == 200
    assert {s["id"] for s in listed.json()["schedules"]} == {"good"}
    assert {i["id"] for i in listed.json()["invalid"]} == BAD_IDS
    jobs = {j["id"] for j in client.get("/api/scheduler").json()["jobs"]}
    assert jobs == {"good"}
    # creating, enabling and changing other schedules keeps working
    assert client.post("/api/schedules", json={**BASE, "id": "new-one"}).status_code == 201
    assert client.post("/api/schedules/good/disable").status_code == 200
    assert client.post("/api/schedules/good/enable").status_code == 200
    assert {j["id"] for j in client.get("/api/scheduler").json()["jobs"]} == {"good", "new-one"}
    # the bad entries stay in the file exactly as written
    assert "NaN" in (home.root / "exports" / "schedules.json").read_text()
    assert client.get("/api/health").json()["status"] != "unhealthy"


def test_pstt_check_reports_them(home: HomeBuilder) -> None:
    _plant_bad_schedules(home)
    result = pstt_process(home.root, "check", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    invalid = {i["id"]: i for i in report["schedules"]["invalid"]}
    assert set(invalid) == BAD_IDS
    assert invalid["tiny-grace"]["path"].endswith(".misfire_grace_sec")
    assert invalid["nan-timeout"]["path"].endswith(".timeout_sec")
    assert "Traceback" not in result.stderr


def test_pstt_serve_starts_with_them(home: HomeBuilder) -> None:
    _plant_bad_schedules(home)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSTT_", "KAFKA_"))}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    proc = subprocess.Popen([sys.executable, "-m", "pstt_core", "--home", str(home.root), "serve",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_listening(port, proc, 30, "pstt serve")
        jobs = httpx.get(f"http://127.0.0.1:{port}/api/scheduler").json()["jobs"]
        assert {j["id"] for j in jobs} == {"good"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/schedules").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    assert "Application startup failed" not in out and "OverflowError" not in out, out
    log = "".join(p.read_text() for p in Path(home.root, "logs").glob("*.log"))
    assert "schedule huge is invalid" in log and "Traceback" not in log


@pytest.mark.parametrize(("body", "message", "path"), [
    ('{"name": "a\\u0000b"}', "NUL character", "$.name"),
    ('{"sink_options": {"k\\u0000": 1}}', "NUL character", "$.sink_options"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper than 32 levels", "$"),
    ('{"a": ' + "[" * 40 + "]" * 40 + "}", "nested deeper than 32 levels", None),
    ('{"batch_size": ' + "9" * 5000 + "}", "not valid JSON", "$"),
    ('{"timeout_sec": NaN}', "NaN is not a JSON number", "$"),
])
def test_malformed_bodies_are_400_never_500(client: TestClient, home: HomeBuilder, body: str,
                                            message: str, path: str | None) -> None:
    before = _stored(home)
    for method, url in (("POST", "/api/schedules"), ("PUT", "/api/schedules/orders"),
                        ("PATCH", "/api/schedules/orders"), ("POST", "/api/preview")):
        resp = client.request(method, url, content=body,
                              headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, (method, url, resp.text[:300])
        assert message in resp.json()["error"], resp.json()
        if path is not None:
            assert resp.json()["path"] == path
    assert _stored(home) == before
    log = "".join(p.read_text() for p in (home.root / "logs").glob("*.log"))
    assert "Traceback" not in log and "unhandled error" not in log
