"""Transient failures are retried, permanent ones are not, and nobody gets a message twice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import HomeBuilder, free_port

from .conftest import email_home


def test_421_then_accepted_delivers_exactly_one_message(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    server.mailbox.data_replies = ["421 4.3.0 Try again later"]
    email_home(home, server, cc=["b@example.com"])
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    assert server.mailbox.data_calls == 2
    assert len(server.mailbox.messages) == 1
    assert server.mailbox.delivered_to("ops@example.com") == 1
    assert server.mailbox.delivered_to("b@example.com") == 1
    assert record.extra["email_attempts"] == 2
    assert record.extra["recipients"] == 2


def test_permanent_550_is_not_retried(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    server.mailbox.data_replies = ["550 5.7.1 Message rejected as spam", "250 would have passed"]
    email_home(home, server)
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "permanent error 550 5.7.1 Message rejected as spam" in (record.error or "")
    assert server.mailbox.data_calls == 1
    assert server.mailbox.messages == []
    assert record.extra["email_attempts"] == 1
    assert record.extra["recipients"] == 0


def test_transient_failures_give_up_after_the_configured_retries(
        home: HomeBuilder, smtp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSTT_EMAIL_RETRIES", "2")
    server = smtp("none")
    server.mailbox.data_replies = ["451 busy"] * 5
    email_home(home, server)
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "temporary error 451 busy after 3 attempts" in (record.error or "")
    assert server.mailbox.data_calls == 3
    assert server.mailbox.messages == []


def test_refused_recipient_is_reported_and_others_get_one_copy(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    server.mailbox.rcpt_replies = {"nobody@example.com": ["550 5.1.1 No such user"]}
    email_home(home, server, to=["ops@example.com", "nobody@example.com"])
    record = home.pstt().run("mail")
    assert record.status == "partial"
    assert "nobody@example.com: 550 5.1.1 No such user" in (record.error or "")
    assert "delivered to 1 of 2" in (record.error or "")
    assert record.extra["recipients"] == 1
    assert record.extra["recipients_refused"] == {"nobody@example.com": "550 5.1.1 No such user"}
    assert len(server.mailbox.messages) == 1
    assert server.mailbox.messages[0].rcpt_tos == ["ops@example.com"]


def test_temporarily_refused_recipient_is_retried_alone(home: HomeBuilder, smtp: Any) -> None:
    """After the DATA phase was accepted for some recipients, a retry goes only to the rest."""
    server = smtp("none")
    server.mailbox.rcpt_replies = {"later@example.com": ["450 4.2.1 Mailbox busy"]}
    email_home(home, server, to=["ops@example.com", "later@example.com"])
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    assert [m.rcpt_tos for m in server.mailbox.messages] == [["ops@example.com"],
                                                            ["later@example.com"]]
    assert server.mailbox.delivered_to("ops@example.com") == 1
    assert server.mailbox.delivered_to("later@example.com") == 1
    ids = {m.message["Message-ID"] for m in server.mailbox.messages}
    assert len(ids) == 1  # one message, delivered in two transactions
    assert record.extra["recipients"] == 2


def test_connection_lost_after_the_content_is_not_resent(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    server.mailbox.drop_after_data = 1
    email_home(home, server)
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "not sent again" in (record.error or "")
    assert len(server.mailbox.messages) == 1  # the server got it once, and only once
    assert server.mailbox.data_calls == 1


def test_unreachable_server_is_retried_then_fails_clearly(home: HomeBuilder, smtp: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSTT_EMAIL_RETRIES", "1")
    server = smtp("none")
    port = free_port()  # nothing listens there
    email_home(home, server)
    home.connections["smtp_servers"] = [server.entry(port=port)]
    record = home.pstt().run("mail")
    assert record.status == "failed"
    error = record.error or ""
    assert f"127.0.0.1:{port}" in error and "connection failed" in error
    assert "after 2 attempts" in error
    assert record.extra["email_attempts"] == 2


def test_every_recipient_refused_fails_the_run(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    server.mailbox.rcpt_replies = {"a@example.com": ["550 5.1.1 unknown"],
                                   "b@example.com": ["553 5.1.3 bad mailbox"]}
    email_home(home, server, to=["a@example.com"], cc=["b@example.com"])
    record = home.pstt().run("mail")
    assert record.status == "failed"
    error = record.error or ""
    assert "refused every recipient" in error
    assert "a@example.com: 550 5.1.1 unknown" in error and "b@example.com: 553 5.1.3" in error
    assert server.mailbox.data_calls == 0 and record.extra["recipients"] == 0


def test_retry_to_one_recipient_that_then_fails_permanently_is_partial(home: HomeBuilder,
                                                                       smtp: Any) -> None:
    server = smtp("none")
    server.mailbox.rcpt_replies = {"later@example.com": ["450 busy", "550 gone for good"]}
    email_home(home, server, to=["ops@example.com", "later@example.com"])
    record = home.pstt().run("mail")
    assert record.status == "partial"
    assert record.extra["recipients_refused"] == {"later@example.com": "550 gone for good"}
    assert server.mailbox.delivered_to("ops@example.com") == 1
    assert server.mailbox.delivered_to("later@example.com") == 0
    assert record.extra["email_attempts"] == 2
