"""Bad options are refused when the schedule is saved, naming the JSON path; header
injection is refused at save and, for values that arrive at run time, at send."""

from __future__ import annotations

from typing import Any

import pytest

from pstt_core import ConfigError
from tests.conftest import HomeBuilder

from .conftest import email_home


def schedule(**options: Any) -> dict[str, Any]:
    return {"id": "new", "name": "New", "connection": "demo", "query": "SELECT 1 AS x",
            "trigger": {"type": "cron", "expression": "0 7 * * *"}, "sharing_mode": "email",
            "sink_options": {"server": "mail", "to": ["ops@example.com"], **options}}


@pytest.mark.parametrize(("options", "path", "text"), [
    ({"subject": "Report\r\nBcc: victim@example.com"}, "subject", "line breaks"),
    ({"subject": "Report\nX-Evil: 1"}, "subject", "line breaks"),
    ({"to": ["ops@example.com\r\nBcc: victim@example.com"]}, "to[0]", "line breaks"),
    ({"to": ["Eve\n <eve@example.com>"]}, "to[0]", "line breaks"),
    ({"cc": ["a@example.com, b@example.com"]}, "cc[0]", "exactly one e-mail address"),
    ({"bcc": ["no-at-sign"]}, "bcc[0]", "not an e-mail address"),
    ({"to": "ops@example.com, no-at-sign"}, "to[1]", "not an e-mail address"),
    ({"to": [], "cc": [], "bcc": []}, "to", "at least one recipient"),
    ({"failure_notice_to": ["bad@@example.com"]}, "failure_notice_to[0]", ""),
    ({"subject": "Rows: {row_count}"}, "subject", "unknown placeholder {row_count}"),
    ({"body": "{schedule_name.__class__}"}, "body", "lookups are not allowed"),
    ({"body": "{run_time.__class__.__mro__}"}, "body", "lookups are not allowed"),
    ({"body": "{rows:>999999999}"}, "body", "too large"),
    ({"body": "unbalanced {"}, "body", "bad template"),
    ({"attachment_name": "../{schedule_id}"}, "attachment_name", "must not be empty nor contain"),
    ({"attachment_format": "pdf"}, "attachment_format", "unknown format 'pdf'"),
    ({"server": "nope"}, "server", "unknown SMTP server 'nope'"),
    ({"on_empty": "maybe"}, "on_empty", "send, skip"),
    ({"preview_rows": 10_000}, "preview_rows", "between 0 and 500"),
    ({"max_bytes": 0}, "max_bytes", "positive"),
    ({"colour": "red"}, "", "extra fields found (colour)"),
])
def test_bad_options_are_refused_at_save(home: HomeBuilder, smtp: Any, options: dict[str, Any],
                                         path: str, text: str) -> None:
    server = smtp("none")
    email_home(home, server)
    pstt = home.pstt()
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule(schedule(**options))
    assert err.value.path == "$.sink_options" + (f".{path}" if path else ""), err.value
    assert text in err.value.message
    assert "new" not in pstt.schedules.all()


def test_good_options_are_saved(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server)
    pstt = home.pstt()
    saved = pstt.create_schedule(schedule(to="Ops <ops@example.com>, \"Doe, J\" <j@example.com>",
                                          subject="{rows:,} rows", preview_rows=5,
                                          zip_above_bytes=None))
    assert saved.sink_options["to"] == ["Ops <ops@example.com>", '"Doe, J" <j@example.com>']
    assert saved.sink_options["zip_above_bytes"] is None
    assert saved.sink_options["attachment_format"] == "csv"


def test_newline_arriving_at_run_time_is_refused_at_send(home: HomeBuilder, smtp: Any) -> None:
    """A schedule name is not an option: a line break in it is caught when sending."""
    server = smtp("none")
    email_home(home, server, subject="Report {schedule_name}")
    home.schedules[0]["name"] = "Orders\r\nBcc: victim@example.com"
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "line breaks" in (record.error or "")
    assert server.mailbox.messages == []


def test_non_ascii_names_are_encoded_not_injected(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, to=['"Müller, Jürgen" <jm@example.com>'],
               subject="Bestellungen für {schedule_name} — {rows} Zeilen")
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    received = server.mailbox.messages[0]
    assert received.data.isascii()
    msg = received.message
    assert msg["Subject"].startswith("Bestellungen für Orders report — 500 Zeilen")
    assert msg["To"].addresses[0].display_name == "Müller, Jürgen"
    assert received.rcpt_tos == ["jm@example.com"]
