"""The watermark API of incremental schedules, backfill through the run endpoint, and the
refusal to change a cursor that has a watermark."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.testclient import TestClient

from tests.conftest import HomeBuilder

FEED = {"id": "feed", "name": "Feed", "connection": "demo",
        "query": "SELECT id, ordered_at FROM orders",
        "trigger": {"type": "interval", "seconds": 3600}, "sharing_mode": "filesystem",
        "sink_options": {"format": "jsonl", "directory": "feed",
                         "filename": "{export_id}.{ext}"},
        "incremental": {"column": "id"}}


def _client(home: HomeBuilder, make_client: Callable[..., TestClient]) -> TestClient:
    home.add_schedule(**FEED)
    home.add_schedule(id="plain", query="SELECT id FROM orders")
    return make_client()


def test_get_put_delete_the_watermark(home: HomeBuilder,
                                      make_client: Callable[..., TestClient]) -> None:
    client = _client(home, make_client)
    empty = client.get("/api/schedules/feed/watermark").json()
    assert empty == {"schedule_id": "feed", "column": "id", "tiebreaker": None, "start": None,
                     "watermark": None, "updated_at": None, "export_id": None, "source": None}
    run = client.post("/api/schedules/feed/run").json()
    assert (run["status"], run["rows"], run["watermark_from"]) == ("success", 500, None)
    assert run["watermark_to"] == {"column": "id", "value": "500", "type": "int"}
    now = client.get("/api/schedules/feed/watermark").json()
    assert now["watermark"] == {"value": "500", "type": "int"}
    assert (now["source"], now["export_id"]) == ("run", run["export_id"])

    put = client.put("/api/schedules/feed/watermark", json={"value": 490})
    assert put.status_code == 200 and put.json()["watermark"] == {"value": "490", "type": "int"}
    again = client.post("/api/schedules/feed/run").json()
    assert again["rows"] == 10 and again["watermark_from"]["value"] == "490"

    gone = client.delete("/api/schedules/feed/watermark")
    assert gone.status_code == 200 and gone.json()["reset"] is True
    assert client.get("/api/schedules/feed/watermark").json()["watermark"] is None
    assert client.post("/api/schedules/feed/run").json()["rows"] == 500


def test_bad_watermark_requests_are_4xx_naming_the_field(
        home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    client = _client(home, make_client)
    cases = [
        ("put", "/api/schedules/feed/watermark", {"value": "x", "type": "int"}, 400, "$.value"),
        ("put", "/api/schedules/feed/watermark", {"valeu": 3}, 400, "$"),
        ("put", "/api/schedules/feed/watermark", {"value": 3, "type": "bytes"}, 400, "$.value"),
        ("put", "/api/schedules/feed/watermark", {"value": 3, "tiebreaker_value": 1}, 400,
         "$.tiebreaker_value"),
        ("get", "/api/schedules/plain/watermark", None, 400, None),
        ("get", "/api/schedules/nope/watermark", None, 404, None),
        ("post", "/api/schedules/plain/run", {"from": 1}, 400, None),
        ("post", "/api/schedules/feed/run", {"form": 1}, 400, "$.form"),
        ("post", "/api/schedules/feed/run", {"from": [1]}, 400, "$.from"),
    ]
    for method, url, body, status, path in cases:
        response = client.request(method.upper(), url, json=body)
        assert response.status_code == status, (url, body, response.text)
        assert "error" in response.json()
        if path is not None:
            assert response.json().get("path") == path, (body, response.json())


def test_backfill_through_the_api_leaves_the_watermark(
        home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    client = _client(home, make_client)
    client.post("/api/schedules/feed/run")
    back = client.post("/api/schedules/feed/run", json={"from": 10, "to": 20}).json()
    assert (back["status"], back["trigger"], back["rows"]) == ("success", "backfill", 10)
    assert back["backfill"] == {"from": {"value": "10", "type": "int"},
                                "to": {"value": "20", "type": "int"}}
    assert client.get("/api/schedules/feed/watermark").json()["watermark"]["value"] == "500"
    started = client.post("/api/schedules/feed/run?background=true", json={"from": 495})
    assert started.status_code == 202


def test_changing_the_cursor_through_the_api(home: HomeBuilder,
                                             make_client: Callable[..., TestClient]) -> None:
    client = _client(home, make_client)
    client.post("/api/schedules/feed/run")
    changed = {**FEED, "incremental": {"column": "ordered_at", "tiebreaker": "id"}}
    refused = client.put("/api/schedules/feed", json=changed)
    assert refused.status_code == 400 and refused.json()["path"] == "$.incremental.column"
    assert "reset_watermark" in refused.json()["error"]
    ok = client.put("/api/schedules/feed", json={**changed, "reset_watermark": True})
    assert ok.status_code == 200, ok.text
    assert ok.json()["incremental"] == {"column": "ordered_at", "tiebreaker": "id"}
    assert "reset_watermark" not in ok.json()
    assert client.get("/api/schedules/feed/watermark").json()["watermark"] is None


def test_the_schedule_page_shows_the_watermark_and_resets_it(
        home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    from tests.conftest import csrf

    client = _client(home, make_client)
    page = client.get("/scheduler/feed").text
    assert 'id="watermark"' in page and "No watermark yet" in page
    assert "moves the watermark when it succeeds" in page  # what Run now does
    assert 'id="f-inc-column"' in page and 'name="reset_watermark"' in page
    ran = client.post("/api/schedules/feed/run", headers=csrf(client, "/scheduler/feed"))
    assert ran.json()["status"] == "success"
    page = client.get("/scheduler/feed").text
    assert re.search(r'id="watermark-value">500</span>\s*\(int\)', page), \
        page[page.find('id="watermark"'):][:600]
    assert 'data-action="reset-watermark"' in page
    assert 'id="watermark"' not in client.get("/scheduler/plain").text
    # the button's request: once the page was viewed, its CSRF token is required
    headers = csrf(client, "/scheduler/feed")
    assert client.delete("/api/schedules/feed/watermark").status_code == 403
    assert client.delete("/api/schedules/feed/watermark",
                         headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.get("/api/schedules/feed/watermark").json()["watermark"] is not None
    done = client.delete("/api/schedules/feed/watermark", headers=headers)
    assert done.status_code == 200 and done.json()["reset"] is True
