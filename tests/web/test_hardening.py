"""The lower findings of the security review: logout ends the session server-side, every
secret-looking key is masked, ``${VAR}`` values are URL-encoded in a URL's user/password,
identifiers refuse a trailing newline, and ``pstt init`` creates private files."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from pstt_core.cli import cli
from pstt_core.databases import build_url
from tests.conftest import HomeBuilder, csrf, logs_text
from tests.web.conftest import TOKEN, csv_schedule

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _login(client: TestClient) -> str:
    headers = csrf(client)
    ok = client.post("/login", data={"token": TOKEN, "csrf_token": headers["X-CSRF-Token"]},
                     follow_redirects=False)
    assert ok.status_code == 303
    return str(client.cookies["pstt_session"])


def test_logout_revokes_a_saved_copy_of_the_cookie(home: HomeBuilder,
                                                   make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home)
    client = make_client(PSTT_API_TOKEN=TOKEN)
    saved = _login(client)
    assert client.get("/api/schedules").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)["X-CSRF-Token"]})
    # an attacker (or a second tab) that kept the cookie value
    thief = TestClient(client.app, base_url="http://localhost", cookies={"pstt_session": saved})
    assert thief.get("/api/schedules").status_code == 401
    assert thief.get("/scheduler", follow_redirects=False).status_code == 303
    # a new login works, and logging out one session leaves the other one alone
    first = _login(client)
    other = TestClient(client.app, base_url="http://localhost")
    _login(other)
    other.post("/logout", data={"csrf_token": csrf(other)["X-CSRF-Token"]})
    again = TestClient(client.app, base_url="http://localhost", cookies={"pstt_session": first})
    assert again.get("/api/schedules").status_code == 200


def test_secret_looking_keys_are_masked_everywhere(home: HomeBuilder,
                                                   make_client: Callable[..., TestClient]) -> None:
    secrets = {"sasl.password": "Kafka-extra-Secret-1", "ssl.key.password": "Key-Pass-2",
               "sasl.oauthbearer.client.secret": "OAuth-Secret-3"}
    home.connections["kafka_connections"] = [{
        "name": "k1", "bootstrap_servers": ["127.0.0.1:1"],
        "producer": {"extra": {**secrets, "ssl.key.location": "/etc/pstt/client.key",
                               "linger.ms": 7}}}]
    csv_schedule(home)
    client = make_client(PSTT_API_TOKEN=TOKEN)
    _login(client)
    for url in ("/api/connections", "/api/kafka/connections", "/settings"):
        text = client.get(url, headers=AUTH).text
        for value in secrets.values():
            assert value not in text, url
    conns = client.get("/api/kafka/connections", headers=AUTH).json()
    entry = conns[0] if isinstance(conns, list) else conns["connections"][0]
    extra = entry["producer"]["extra"]
    assert extra["sasl.password"] == "********"
    assert extra["ssl.key.location"] == "/etc/pstt/client.key"  # a path, not a secret
    assert extra["linger.ms"] == 7
    # and the log redactor knows them
    client.post("/api/kafka/test", json={"connection": "k1"}, headers=AUTH)
    assert not any(v in logs_text(home.root) for v in secrets.values())


def test_a_password_with_url_syntax_is_encoded_into_the_url(home: HomeBuilder,
                                                            make_client: Callable[..., TestClient]) -> None:
    password = "p@ss:w/rd#?1"
    home.connections["databases"].append(
        {"name": "pg", "url": "postgresql+psycopg://etl:${PG_PW}@127.0.0.1:1/sales"})
    (home.root / ".env").write_text(f"PG_PW={password}\n")
    csv_schedule(home)
    client = make_client(PSTT_API_TOKEN=TOKEN)
    pstt = client.app.state.pstt  # type: ignore[attr-defined]
    url = build_url(pstt.config.databases["pg"], home.root)
    assert (url.host, url.port, url.database, url.password) == ("127.0.0.1", 1, "sales", password)
    shown = client.get("/api/connections", headers=AUTH).json()["databases"]
    pg = next(d for d in shown if d["name"] == "pg")
    assert pg["url"] == "postgresql+psycopg://etl:***@127.0.0.1:1/sales"
    tested = client.post("/api/connections/databases/pg/test", headers=AUTH).text
    for part in (password, "p%40ss", "ss:w", "w/rd"):
        assert part not in tested and part not in client.get("/settings", headers=AUTH).text
    assert password not in logs_text(home.root)


@pytest.mark.parametrize("sid", ["orders\n", "orders\r\n", "ord\ners"])
def test_identifiers_refuse_a_trailing_newline(client: TestClient, sid: str) -> None:
    resp = client.post("/api/schedules", json={
        "id": sid, "name": "N", "connection": "demo", "query": "SELECT 1 AS x",
        "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "filesystem",
        "sink_options": {"format": "csv", "filename": "x.csv"}})
    assert resp.status_code == 400 and resp.json()["path"] == "$.id"


def test_a_database_name_with_a_trailing_newline_is_refused(home: HomeBuilder) -> None:
    home.connections["databases"].append({"name": "pg\n", "url": "sqlite:///x.db"})
    home.write()
    result = CliRunner().invoke(cli, ["--home", str(home.root), "check"])
    assert result.exit_code == 2, result.output
    assert "name 'pg\\n' must be" in result.output


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_private_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["--home", str(home), "init", "--demo"])
    assert result.exit_code == 0, result.output
    assert _mode(home / ".env") == 0o600
    assert _mode(home / "exports") == 0o700
    assert _mode(home / "logs") == 0o700
    run = CliRunner().invoke(cli, ["--home", str(home), "run", "demo-orders-csv", "--no-progress"])
    assert run.exit_code == 0, run.output
    logs = list((home / "logs").glob("app_*.log"))
    assert logs and all(_mode(p) == 0o600 for p in logs)
    exported = [p for p in (home / "exports").rglob("*") if p.is_file()]
    assert exported and all(_mode(p) & 0o077 == 0 for p in exported), {
        str(p): oct(_mode(p)) for p in exported}
    assert json.loads((home / "exports" / "schedules.json").read_text())["schedules"]
