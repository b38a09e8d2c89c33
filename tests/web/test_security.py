"""Token, login session, CSRF, escaping, secrets and request size limits."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from pstt_core.cli import cli
from tests.conftest import HomeBuilder, csrf
from tests.web.conftest import TOKEN, csv_schedule

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def locked(home: HomeBuilder, make_client: Callable[..., TestClient]) -> TestClient:
    csv_schedule(home)
    return make_client(PSTT_API_TOKEN=TOKEN)


def test_api_requires_the_bearer_token_when_one_is_set(locked: TestClient) -> None:
    for method, url in [("GET", "/api/schedules"), ("GET", "/api/history"), ("GET", "/metrics"),
                        ("POST", "/api/schedules/orders/run"), ("DELETE", "/api/schedules/orders"),
                        ("GET", "/api/settings")]:
        resp = locked.request(method, url)
        assert resp.status_code == 401, (method, url)
        assert "Bearer" in resp.headers["www-authenticate"]
        assert locked.request(method, url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert locked.get("/api/schedules", headers=AUTH).status_code == 200
    # bearer calls need no CSRF token
    assert locked.post("/api/schedules/orders/disable", headers=AUTH).json()["enabled"] is False
    # health and the OpenAPI document stay open for probes and tools
    assert locked.get("/api/health").status_code == 200
    assert locked.get("/api/openapi.json").status_code == 200


def test_pages_redirect_to_login_and_the_session_works(locked: TestClient) -> None:
    resp = locked.get("/scheduler?x=1", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=%2Fscheduler%3Fx%3D1"
    headers = csrf(locked)
    wrong = locked.post("/login", data={"token": "nope", "csrf_token": headers["X-CSRF-Token"]})
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    # the login form itself is CSRF-protected
    assert locked.post("/login", data={"token": TOKEN}).status_code == 403
    ok = locked.post("/login", data={"token": TOKEN, "csrf_token": headers["X-CSRF-Token"],
                                     "next": "/scheduler"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/scheduler"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and TOKEN.lower() not in cookie
    assert locked.get("/scheduler").status_code == 200
    # the session's API calls need the (new) CSRF token
    assert locked.post("/api/schedules/orders/disable").status_code == 403
    assert locked.post("/api/schedules/orders/disable", headers=csrf(locked)).status_code == 200
    # log out ends the session
    locked.post("/logout", data={"csrf_token": csrf(locked)["X-CSRF-Token"]})
    assert locked.get("/api/schedules").status_code == 401


def test_login_next_is_never_an_open_redirect(locked: TestClient) -> None:
    headers = csrf(locked)
    for target in ("//evil.example/", "https://evil.example/", "\\\\evil"):
        resp = locked.post("/login", data={"token": TOKEN, "next": target,
                                           "csrf_token": headers["X-CSRF-Token"]},
                           follow_redirects=False)
        assert resp.headers["location"] == "/"
        headers = csrf(locked)


def test_csrf_without_a_token_configured(client: TestClient) -> None:
    # a script without cookies or Origin (curl) may call the open API
    assert client.post("/api/schedules/orders/disable").status_code == 200
    # a cross-site browser request carries Origin: refused without the token
    evil = client.post("/api/schedules/orders/enable", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "cross-origin" in evil.json()["error"]
    # once a page was viewed (session cookie), the page's token is required
    headers = csrf(client)
    assert client.post("/api/schedules/orders/enable").status_code == 403
    assert client.post("/api/schedules/orders/enable",
                       headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/schedules/orders/enable", headers=headers).status_code == 200


def test_api_only_clients_get_no_cookie(client: TestClient) -> None:
    assert "set-cookie" not in client.get("/api/schedules").headers
    assert "set-cookie" in client.get("/").headers


def test_script_in_a_name_is_escaped_everywhere(home: HomeBuilder,
                                                make_client: Callable[..., TestClient]) -> None:
    evil = "<script>alert(1)</script>"
    csv_schedule(home, "xss", name=evil, description=evil)
    client = make_client()
    client.post("/api/schedules/xss/run")
    for page in ("/", "/scheduler", "/scheduler/xss", "/history"):
        html = client.get(page).text
        assert evil not in html, page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "\\u003cscript" in html, page
    assert client.get("/scheduler/%3Cscript%3E").status_code == 404
    assert evil not in client.get("/scheduler/%3Cscript%3Ealert(1)%3C%2Fscript%3E").text


def test_secrets_never_reach_pages_api_or_logs(home: HomeBuilder,
                                               make_client: Callable[..., TestClient]) -> None:
    password = "Db-Pa55-only-in-env"
    home.connections["databases"].append({"name": "pg", "url": "postgresql+psycopg://etl:${DB_PW}@127.0.0.1:1/x"})
    (home.root / ".env").write_text(f"DB_PW={password}\n")
    csv_schedule(home, "pgjob", connection="pg")
    csv_schedule(home, "ok")
    client = make_client(PSTT_API_TOKEN=TOKEN)
    client.post("/api/schedules/pgjob/run", headers=AUTH)
    client.post("/api/schedules/ok/run", headers=AUTH)
    client.post("/api/connections/databases/pg/test", headers=AUTH)
    headers = csrf(client)
    client.post("/login", data={"token": TOKEN, "csrf_token": headers["X-CSRF-Token"]})
    seen = []
    for url in ("/", "/scheduler", "/scheduler/pgjob", "/history", "/settings", "/logs",
                "/api/schedules", "/api/history", "/api/health", "/api/plugins", "/api/settings",
                "/api/connections", "/api/logs?tail=5000", "/api/scheduler", "/metrics",
                "/api/openapi.json"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        seen.append(resp.text)
    text = "\n".join(seen)
    assert password not in text and TOKEN not in text
    assert "pgjob" in text  # the pages did render the schedule
    logs = "\n".join(p.read_text() for p in (home.root / "logs").glob("*.log"))
    assert "pgjob" in logs and password not in logs and TOKEN not in logs


def test_request_size_limit(home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    client = make_client(PSTT_MAX_REQUEST_BYTES="2048")
    big = {"name": "x", "description": "y" * 5000}
    assert client.post("/api/schedules", json=big).status_code == 413
    resp = client.post("/api/schedules", content=iter([b"{", b" " * 4096, b"}"]),
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 413 and "PSTT_MAX_REQUEST_BYTES" in resp.json()["error"]
    assert client.post("/api/schedules", json={"name": "small"}).status_code == 400


def test_security_headers(client: TestClient) -> None:
    for url in ("/", "/api/schedules"):
        headers = client.get(url).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_serve_refuses_a_public_bind_without_a_token(home: HomeBuilder) -> None:
    home.write()
    result = CliRunner().invoke(cli, ["--home", str(home.root), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "PSTT_API_TOKEN" in result.output and re.search(r"0\.0\.0\.0", result.output)
