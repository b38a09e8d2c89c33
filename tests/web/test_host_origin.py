"""DNS rebinding and cross-origin requests: a foreign ``Host`` gets 400 before any routing, a
state-changing request from another origin gets 403 even with a valid CSRF token — in the
app, against a real ``pstt serve`` with curl-style requests, and in Chromium with a name
re-pointed to 127.0.0.1 (``--host-resolver-rules``)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import HomeBuilder, chromium, csrf
from tests.processes import demo_server
from tests.web.conftest import csv_schedule

NEW = {"id": "planted", "name": "Planted", "connection": "demo", "query": "SELECT 1 AS x",
       "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "filesystem",
       "sink_options": {"format": "csv", "filename": "planted.csv"}}


def test_a_foreign_host_is_refused_before_routing(client: TestClient) -> None:
    evil = {"Host": "evil.example:8000"}
    for method, url in [("GET", "/"), ("GET", "/scheduler"), ("GET", "/api/schedules"),
                        ("GET", "/api/health"), ("GET", "/static/pstt/pstt.css"),
                        ("GET", "/no-such-page"), ("POST", "/api/schedules"),
                        ("DELETE", "/api/schedules/orders")]:
        resp = client.request(method, url, headers=evil, json=NEW if method == "POST" else None)
        assert resp.status_code == 400, (method, url)
        assert "unknown host 'evil.example:8000'" in resp.json()["error"]
        assert "set-cookie" not in resp.headers  # not even a session for the page's CSRF token
    ids = {s["id"] for s in client.get("/api/schedules").json()["schedules"]}
    assert ids == {"orders"}  # nothing planted, nothing deleted


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "LOCALHOST:8000", "127.0.0.1",
                                  "127.0.0.1:9", "[::1]:8000", "[::1]", "localhost."])
def test_loopback_names_on_any_port_are_allowed(client: TestClient, host: str) -> None:
    assert client.get("/api/schedules", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example",
                                  "10.0.0.1", "user@localhost", "localhost:port", ""])
def test_other_hosts_are_refused(client: TestClient, host: str) -> None:
    assert client.get("/api/schedules", headers={"Host": host}).status_code == 400


def test_allowed_hosts_setting_for_a_reverse_proxy(home: HomeBuilder,
                                                   make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home)
    client = make_client(PSTT_ALLOWED_HOSTS="pstt.example.com, .corp.example")
    for host in ("pstt.example.com", "PSTT.example.com:443", "a.corp.example", "corp.example",
                 "localhost:8000"):
        assert client.get("/api/schedules", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", "example.com", "notcorp.example", "pstt.example.com.evil.example"):
        assert client.get("/api/schedules", headers={"Host": host}).status_code == 400, host
    # the proxy's public origin may post (the browser's Host is the public name too)
    ok = client.post("/api/schedules/orders/disable", headers={
        **csrf(client), "Host": "pstt.example.com", "Origin": "https://pstt.example.com"})
    assert ok.status_code == 200


def test_the_bind_address_is_allowed(home: HomeBuilder,
                                     make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home)
    client = make_client(PSTT_HOST="192.0.2.7", PSTT_API_TOKEN="tok-" + "x" * 20)
    auth = {"Authorization": "Bearer tok-" + "x" * 20}
    assert client.get("/api/schedules", headers={**auth, "Host": "192.0.2.7:8000"}).status_code == 200
    assert client.get("/api/schedules", headers={**auth, "Host": "192.0.2.8:8000"}).status_code == 400


def test_cross_origin_writes_are_refused_even_with_a_valid_csrf_token(client: TestClient) -> None:
    token = csrf(client)  # the session cookie and its CSRF token, as a page has them
    for headers in ({"Origin": "http://evil.example:8000"}, {"Origin": "null"},
                    {"Origin": "http://localhost:9999"},  # another service on this machine
                    {"Origin": "http://127.0.0.1.evil.example"},
                    {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"}):
        resp = client.post("/api/schedules", json=NEW, headers={**token, **headers})
        assert resp.status_code == 403, headers
        assert "cross-" in resp.json()["error"]
        assert client.delete("/api/schedules/orders", headers={**token, **headers}).status_code == 403
    assert {s["id"] for s in client.get("/api/schedules").json()["schedules"]} == {"orders"}
    # the page's own origin (what a browser sends from /scheduler) is fine
    same = {**token, "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/schedules", json=NEW, headers=same).status_code == 201
    # a cross-site GET is harmless navigation (a link to the dashboard): allowed
    assert client.get("/scheduler", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_a_mounting_application_can_turn_the_host_check_off(home: HomeBuilder,
                                                             make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home)
    client = make_client(PSTT_ALLOWED_HOSTS="*")
    assert client.get("/api/schedules", headers={"Host": "intranet.example"}).status_code == 200


# --- a real `pstt serve` ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """``pstt serve`` on 127.0.0.1 without a token (the default an attacker finds)."""
    home = tmp_path_factory.mktemp("rebind")
    with demo_server(home, PSTT_SCHEDULER_ENABLED="false") as (port, _proc):
        yield port, home


def _schedule_ids(port: int) -> set[str]:
    resp = httpx.get(f"http://127.0.0.1:{port}/api/schedules")
    return {s["id"] for s in resp.json()["schedules"]}


def test_the_rebinding_chain_fails_against_pstt_serve(served: tuple[int, Path]) -> None:
    """What a rebound page does, step by step, as curl would send it."""
    port, home = served
    base = f"http://127.0.0.1:{port}"
    before = _schedule_ids(port)
    evil = {"Host": f"evil.example:{port}"}
    page = httpx.get(base + "/scheduler", headers=evil)  # step 1: read the CSRF token
    assert page.status_code == 400 and "csrf-token" not in page.text
    assert page.headers["content-type"] == "application/json"
    planted = httpx.post(base + "/api/schedules", headers={**evil, "Origin": f"http://evil.example:{port}"},
                         json={**NEW, "query": "VACUUM INTO '/tmp/stolen.db'"})
    assert planted.status_code == 400
    assert httpx.delete(base + "/api/schedules/demo-orders-csv", headers=evil).status_code == 400
    assert httpx.get(base + "/api/health", headers=evil).status_code == 400
    assert _schedule_ids(port) == before
    # the same requests with the service's own name work
    assert httpx.get(f"http://localhost:{port}/scheduler").status_code == 200


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    """A page on another origin that tries to drive the service with the browser."""

    target = ""

    def do_GET(self) -> None:
        body = f"""<!doctype html><title>cat pictures</title><script>
        window.attempts = (async () => {{
          const out = {{}};
          const post = (path, body) => fetch("{self.target}" + path, {{method: "POST",
              mode: "no-cors", credentials: "include", headers: {{"Content-Type": "text/plain"}},
              body: body}}).then(() => "sent", e => "blocked: " + e);
          out.plant = await post("/api/schedules", JSON.stringify({NEW!r}));
          out.run = await post("/api/schedules/demo-orders-csv/run", "");
          return out;
        }})();
        </script>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def rebinding_browser() -> Iterator[Any]:
    """Chromium that resolves evil.example to 127.0.0.1, as after a DNS rebinding."""
    with chromium("--host-resolver-rules=MAP evil.example 127.0.0.1") as b:
        yield b


@pytest.mark.browser
def test_a_rebound_page_in_chromium_gets_nothing(served: tuple[int, Path],
                                                 rebinding_browser: Any) -> None:
    port, _ = served
    before = _schedule_ids(port)
    page = rebinding_browser.new_page()
    try:
        # the attacker's page, now answered by pstt itself under the attacker's name
        response = page.goto(f"http://evil.example:{port}/")
        assert response is not None and response.status == 400
        result = page.evaluate(f"""async () => {{
            const get = await fetch("/scheduler");
            const text = await get.text();
            const post = await fetch("/api/schedules", {{method: "POST",
                headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({NEW!r})}});
            const del = await fetch("/api/schedules/demo-orders-csv", {{method: "DELETE"}});
            return [get.status, text.includes("csrf-token"), post.status, del.status];
        }}""")
        assert result == [400, False, 400, 400]
        # the same browser on the service's own name sees the page
        own = page.goto(f"http://localhost:{port}/scheduler")
        assert own is not None and own.status == 200
    finally:
        page.close()
    assert _schedule_ids(port) == before


@pytest.mark.browser
def test_a_cross_site_page_in_chromium_cannot_write(served: tuple[int, Path],
                                                    rebinding_browser: Any) -> None:
    port, _ = served
    before = _schedule_ids(port)
    _AttackerPage.target = f"http://localhost:{port}"
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    page = rebinding_browser.new_page()
    try:
        # the operator once opened the dashboard: the browser holds its session cookie
        page.goto(f"http://localhost:{port}/scheduler")
        seen: list[tuple[str, int]] = []
        page.on("response", lambda r: seen.append((r.url, r.status)))
        page.goto(f"http://evil.example:{attacker.server_address[1]}/")
        outcome = page.evaluate("() => window.attempts")
        assert outcome == {"plant": "sent", "run": "sent"}  # opaque no-cors requests left
        page.wait_for_timeout(200)
    finally:
        page.close()
        attacker.shutdown()
    assert _schedule_ids(port) == before
    history = httpx.get(f"http://127.0.0.1:{port}/api/history").json()
    assert history["total"] == 0  # no run was started by the page
