"""STARTTLS and implicit TLS against a CA made in the test; AUTH good and bad."""

from __future__ import annotations

from typing import Any

import pytest

from pstt_core import ConfigError
from tests.conftest import HomeBuilder

from .conftest import attachment_of, connection_test, email_home


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_login_delivers(home: HomeBuilder, smtp: Any, security: str) -> None:
    server = smtp(security, auth=True)
    email_home(home, server)
    pstt = home.pstt()
    record = pstt.run("mail")
    assert record.status == "success", record.error
    assert len(server.mailbox.messages) == 1
    name, data = attachment_of(server.mailbox.messages[0].message)
    assert data.count(b"\r\n") >= 500


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_connection_test_reports_success(home: HomeBuilder, smtp: Any, security: str) -> None:
    server = smtp(security, auth=True)
    email_home(home, server)
    pstt = home.pstt()
    result = connection_test(pstt, "mail")
    assert result["success"] is True, result
    assert result["name"] == "mail" and result["error"] is None
    assert result["latency_ms"] >= 0
    assert server.mailbox.messages == []  # a test sends nothing


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_wrong_ca_fails_with_verification_error(home: HomeBuilder, smtp: Any, tls_ca: Any,
                                                security: str) -> None:
    server = smtp(security)
    home.connections["smtp_servers"] = [server.entry(ca_file=str(tls_ca["other_ca_file"]))]
    email_home(home, server)
    home.connections["smtp_servers"] = [server.entry(ca_file=str(tls_ca["other_ca_file"]))]
    pstt = home.pstt()
    result = connection_test(pstt, "mail")
    assert result["success"] is False
    assert "TLS failed" in result["error"] and "certificate verify failed" in result["error"]
    assert "ca_file" in result["error"]
    record = pstt.run("mail")
    assert record.status == "failed"
    assert "certificate verify failed" in (record.error or "")
    assert record.extra.get("email_attempts") == 1  # a certificate problem is not retried
    assert server.mailbox.messages == []


def test_bad_password_is_a_permanent_failure(home: HomeBuilder, smtp: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("starttls", auth=True)
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    email_home(home, server)
    pstt = home.pstt()
    record = pstt.run("mail")
    assert record.status == "failed"
    assert "authentication failed for user 'mailer'" in (record.error or "")
    assert "535" in (record.error or "")
    assert record.extra["email_attempts"] == 1
    assert "wrong" not in (record.error or "")
    result = connection_test(pstt, "mail")
    assert result["success"] is False and "authentication failed" in result["error"]


def test_password_comes_from_the_environment_and_is_secret(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("starttls", auth=True)
    email_home(home, server)
    pstt = home.pstt()
    entry = pstt.config.section("smtp_servers")["mail"]
    assert entry.password == "s3cret-pass"
    assert "s3cret-pass" in pstt.config.secrets
    assert "s3cret-pass" not in repr(entry)


def test_login_over_plain_text_to_a_remote_host_is_refused(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    home.connections["smtp_servers"] = [server.entry(host="mail.example.com", username="u",
                                                     password="p")]
    with pytest.raises(ConfigError) as err:
        home.pstt()
    assert err.value.path == "$.smtp_servers[0].security"
    assert "password in clear" in err.value.message


@pytest.mark.parametrize(("overrides", "path", "text"), [
    ({"security": "ssl"}, "security", "must be one of none, starttls, tls"),
    ({"port": 70000}, "port", "between 1 and 65535"),
    ({"from_address": "not-an-address"}, "from_address", "not an e-mail address"),
    ({"from_address": "a@example.com\r\nBcc: victim@example.com"}, "from_address", "line breaks"),
    ({"from_name": "PSTT\nBcc: x@example.com"}, "from_name", "line breaks"),
    ({"username": "u"}, "password", "no password"),
    ({"ca_file": "missing.pem"}, "ca_file", "does not exist"),
    ({"timeout": 0}, "timeout", "positive"),
])
def test_server_entry_errors_name_the_json_path(home: HomeBuilder, smtp: Any, overrides: dict[str, Any],
                                                path: str, text: str) -> None:
    server = smtp("starttls")
    home.connections["smtp_servers"] = [server.entry(**overrides)]
    with pytest.raises(ConfigError) as err:
        home.pstt()
    assert err.value.path == f"$.smtp_servers[0].{path}"
    assert text in err.value.message
    assert str(err.value).startswith(str(home.root / "connections.json"))


def test_security_mode_mismatch_is_reported_not_retried(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server)
    home.connections["smtp_servers"] = [server.entry(security="starttls")]
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "STARTTLS" in (record.error or "") and record.extra["email_attempts"] == 1


async def test_connection_test_works_from_a_running_event_loop(home: HomeBuilder, smtp: Any) -> None:
    """Web handlers call the test from async code: it must not need the caller's loop."""
    server = smtp("starttls", auth=True)
    email_home(home, server)
    pstt = home.pstt()
    result = connection_test(pstt, "mail")
    assert result["success"] is True, result
    missing = connection_test(pstt, "nope")
    assert missing == {"name": "nope", "success": False, "latency_ms": None,
                       "error": "unknown SMTP server 'nope' (connections.json → smtp_servers: mail)"}
