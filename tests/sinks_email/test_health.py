"""The e-mail health check talks to each SMTP server (as ``pstt check``, ``/`` and
``/api/health`` report it), and ``pstt email test --json``."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.conftest import HomeBuilder, free_port, pstt_process
from tests.sinks_email.conftest import PASSWORD


def email_check(home: HomeBuilder) -> dict[str, Any]:
    return next(c for c in home.pstt(logs=False).health()["checks"] if c["name"] == "email")


def test_answering_server_with_login_is_healthy(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("starttls", auth=True)
    home.connections["smtp_servers"] = [server.entry()]
    check = email_check(home)
    assert check["status"] == "healthy", check["detail"]
    assert check["detail"] == "1 SMTP server(s) answering"
    assert check["data"]["connections"][0]["success"] is True


def test_stopped_server_is_unhealthy_in_check(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    home.connections["smtp_servers"] = [server.entry()]
    server.stop()
    root = home.write()
    t0 = time.monotonic()
    result = pstt_process(root, "check")
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if "email:" in x)
    assert line.startswith("  ✗ email: unhealthy mail: ") and "127.0.0.1" in line, line
    assert time.monotonic() - t0 < 30
    report = json.loads(pstt_process(root, "check", "--json").stdout)
    email = next(c for c in report["health"]["checks"] if c["name"] == "email")
    assert email["status"] == "unhealthy" and report["ok"] is False


def test_wrong_password_and_one_of_two_down(home: HomeBuilder, smtp: Any) -> None:
    good, bad = smtp("starttls", auth=True), smtp("starttls", auth=True)
    home.connections["smtp_servers"] = [good.entry("good"), bad.entry("bad", password="wrong")]
    check = email_check(home)
    assert check["status"] == "degraded"
    assert check["detail"].startswith("bad: ") and "authentication failed" in check["detail"]
    assert "wrong" not in check["detail"] and PASSWORD not in check["detail"]


def test_unresponsive_server_gives_up_quickly(home: HomeBuilder) -> None:
    import socket

    with socket.socket() as listener:  # accepts connections, never greets
        port = free_port()
        listener.bind(("127.0.0.1", port))
        listener.listen(5)
        home.connections["smtp_servers"] = [{"name": "silent", "host": "127.0.0.1", "port": port,
                                             "security": "none", "timeout": 60,
                                             "from_address": "pstt@example.com"}]
        t0 = time.monotonic()
        check = email_check(home)
    assert check["status"] == "unhealthy"
    assert time.monotonic() - t0 < 15  # the health check's own timeout, not the server's 60 s


def test_email_test_json(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    home.connections["smtp_servers"] = [server.entry()]
    root = home.write()
    ok = pstt_process(root, "email", "test", "mail", "--to", "ops@example.com", "--json",
                      SMTP_PASSWORD=PASSWORD)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["success"] is True and data["error"] is None
    assert data["delivered"] == ["ops@example.com"] and data["refused"] == {}
    assert data["message_id"] == server.mailbox.messages[0].message["Message-ID"]
    # the keys of the settings page's Test button (POST /api/connections/smtp_servers/mail/test)
    assert {"name", "success", "latency_ms", "error"} <= set(data)
    server.stop()
    down = pstt_process(root, "email", "test", "mail", "--to", "ops@example.com", "--json")
    assert down.returncode == 1
    data = json.loads(down.stdout)
    assert data["success"] is False and "127.0.0.1" in data["error"]
