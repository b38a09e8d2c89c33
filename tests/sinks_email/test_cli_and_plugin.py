"""``pstt email test``, the plugin's registrations, and loading without aiosmtplib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pstt_core.cli import build_cli
from pstt_core.web.forms import facade_choices, sink_schema
from tests.conftest import HomeBuilder

ROOT = Path(__file__).resolve().parents[2]


def invoke(home: HomeBuilder, *args: str) -> Any:
    home.write()
    return CliRunner().invoke(build_cli(), ["--home", str(home.root), "email", "test", *args])


def test_cli_sends_a_test_message(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("tls", auth=True)
    home.connections["smtp_servers"] = [server.entry()]
    result = invoke(home, "mail", "--to", "ops@example.com", "--to", "Dev <dev@example.com>")
    assert result.exit_code == 0, result.output
    assert "sent to ops@example.com, dev@example.com via mail" in result.output
    assert len(server.mailbox.messages) == 1
    msg = server.mailbox.messages[0].message
    assert msg["Subject"] == "PSTT test message"
    assert msg["Message-ID"] in result.output


def test_cli_failure_exits_1_with_the_reason(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("starttls", auth=True)
    home.connections["smtp_servers"] = [server.entry(password="wrong")]
    result = invoke(home, "mail", "--to", "ops@example.com")
    assert result.exit_code == 1
    assert "authentication failed for user 'mailer'" in result.output
    assert "wrong" not in result.output


def test_cli_unknown_server_and_bad_address(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    home.connections["smtp_servers"] = [server.entry()]
    result = invoke(home, "other", "--to", "ops@example.com")
    assert result.exit_code == 2 and "unknown SMTP server 'other'" in result.output
    result = invoke(home, "mail", "--to", "ops@example.com\nBcc: x@example.com")
    assert result.exit_code == 2 and "line breaks" in result.output
    assert server.mailbox.messages == []


def test_plugin_contributions(home: HomeBuilder) -> None:
    pstt = home.pstt()
    sink = pstt.registry.sinks["email"]
    assert pstt.registry.plugin_of("sink type", "email") == "email"
    assert sink.available and sink.install_hint == 'pip install "pstt[email]"'
    described = sink_schema(sink, facade_choices(pstt))
    by_name = {o["name"]: o for o in described["options"]}
    assert by_name["server"]["required"] is True
    assert by_name["to"]["widget"] == "list"
    assert by_name["body"]["widget"] == "textarea"
    assert by_name["attachment_format"]["choices"] == ["csv", "jsonl", "parquet", "xlsx"]
    assert by_name["on_empty"]["choices"] == ["send", "skip"]
    assert by_name["sheet_name"]["advanced"] is True
    assert all(o["label"] and o["help"] is not None for o in described["options"])
    assert set(described["history_fields"]) >= {"recipients", "attachment_bytes", "message_id",
                                                 "email_server"}
    section = pstt.registry.sections["smtp_servers"]
    assert section.secret_fields == ("password",) and section.test is not None
    assert "PSTT_EMAIL_NOTIFY_TO" in pstt.settings
    assert pstt.config.section("smtp_servers") == {}  # absent section: nothing configured
    assert dict(pstt.plugin_env("email").section("smtp_servers")) == {}


BLOCKED = """
import json, sys
sys.modules["aiosmtplib"] = None  # makes `import aiosmtplib` fail and find_spec return None
import pstt_sinks_email
from pstt_core import Pstt
pstt = Pstt(sys.argv[1], logs=False)
sink = pstt.registry.sinks["email"]
try:
    import aiosmtplib  # noqa: F401
    blocked = False
except ImportError:
    blocked = True
try:
    pstt.registry.sink("email")
    error = None
except Exception as exc:
    error = str(exc)
record = pstt.run("mail")
print(json.dumps({"blocked": blocked, "available": sink.available,
                  "reason": sink.unavailable_reason, "error": error,
                  "status": record.status, "run_error": record.error}))
"""


def test_plugin_loads_without_aiosmtplib_and_says_how_to_install(home: HomeBuilder,
                                                                 smtp: Any) -> None:
    server = smtp("none")
    home.connections["smtp_servers"] = [server.entry()]
    home.add_schedule(id="mail", sharing_mode="email",
                      sink_options={"server": "mail", "to": ["ops@example.com"]})
    home.write()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", BLOCKED, str(home.root)], capture_output=True,
                         text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["blocked"] is True
    assert data["available"] is False
    assert 'pip install "pstt[email]"' in data["reason"] and "aiosmtplib" in data["reason"]
    assert "unavailable" in data["error"]
    assert data["status"] == "failed" and 'pip install "pstt[email]"' in data["run_error"]
    assert server.mailbox.messages == []
