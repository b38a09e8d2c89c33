"""Failure notices for every sharing mode, through the run_finished hook."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import HomeBuilder, free_port

from .conftest import email_home


def failing_fs_schedule(home: HomeBuilder, **fields: Any) -> None:
    home.add_schedule(id="fs", name="Nightly files", query="SELECT * FROM no_such_table",
                      sharing_mode="filesystem", sink_options={"filename": "x.csv"}, **fields)


def test_failed_filesystem_run_is_notified(home: HomeBuilder, smtp: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("starttls", auth=True)
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com, \"Lead, Ops\" <lead@example.com>")
    home.connections["smtp_servers"] = [server.entry()]
    failing_fs_schedule(home)
    pstt = home.pstt()
    record = pstt.run("fs")
    assert record.status == "failed"
    assert "no such table" in (record.error or "")
    assert len(server.mailbox.messages) == 1
    received = server.mailbox.messages[0]
    assert sorted(received.rcpt_tos) == ["lead@example.com", "oncall@example.com"]
    msg = received.message
    assert msg["Subject"] == "[PSTT] run failed: Nightly files (fs)"
    assert msg["X-PSTT-Notice"] == "run-failed"
    assert msg["X-PSTT-Export-Id"] == record.export_id
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "no such table" in body and "Sharing mode: filesystem" in body
    # The run is recorded exactly as it failed.
    stored = pstt.history.get(record.export_id)
    assert stored is not None and stored["error"] == record.error


def test_successful_run_sends_no_notice(home: HomeBuilder, smtp: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("none")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com")
    home.connections["smtp_servers"] = [server.entry()]
    home.add_schedule(id="ok", sink_options={"filename": "ok.csv"})
    record = home.pstt().run("ok")
    assert record.status == "success"
    assert server.mailbox.messages == []


def test_unreachable_notice_server_changes_nothing(home: HomeBuilder, smtp: Any, caplog: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com")
    monkeypatch.setenv("PSTT_EMAIL_RETRIES", "0")
    server = smtp("none")
    home.connections["smtp_servers"] = [server.entry(port=free_port())]
    failing_fs_schedule(home)
    pstt = home.pstt()
    with caplog.at_level(logging.ERROR, logger="pstt.email.notices"):
        record = pstt.run("fs")
    assert record.status == "failed" and "no such table" in (record.error or "")
    assert "failure notice for run" in caplog.text and "connection failed" in caplog.text
    assert len(pstt.history.query(schedule_id="fs")[1]) == 1


def test_email_run_failure_notifies_its_own_list_once(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    server.mailbox.data_replies = ["554 5.6.0 Attachment type refused"]
    email_home(home, server, failure_notice_to=["owner@example.com"])
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert len(server.mailbox.messages) == 1  # the notice, and no notice about the notice
    notice = server.mailbox.messages[0]
    assert notice.rcpt_tos == ["owner@example.com"]
    assert "554 5.6.0 Attachment type refused" in notice.message.get_content()


def test_partial_run_notice_follows_the_setting(home: HomeBuilder, smtp: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("none")
    server.mailbox.rcpt_replies = {"gone@example.com": ["550 no such user", "550 no such user"]}
    email_home(home, server, to=["ops@example.com", "gone@example.com"],
               failure_notice_to=["owner@example.com"])
    record = home.pstt().run("mail")
    assert record.status == "partial"
    notices = [m for m in server.mailbox.messages if m.message["X-PSTT-Notice"]]
    assert [n.rcpt_tos for n in notices] == [["owner@example.com"]]
    assert notices[0].message["Subject"].startswith("[PSTT] run partial:")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_PARTIAL", "false")
    server.mailbox.messages.clear()
    record = home.pstt().run("mail")
    assert record.status == "partial"
    assert [m.rcpt_tos for m in server.mailbox.messages] == [["ops@example.com"]]


def test_per_schedule_list_for_another_sharing_mode(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    home.connections["smtp_servers"] = [server.entry()]
    failing_fs_schedule(home, failure_notice_to=["team@example.com"])
    pstt = home.pstt()
    pstt.run("fs")
    assert [m.rcpt_tos for m in server.mailbox.messages] == [["team@example.com"]]
    # The field survives a save round trip of the schedule.
    assert pstt.schedules.get("fs").extra["failure_notice_to"] == ["team@example.com"]


def test_notice_server_must_be_chosen_among_several(home: HomeBuilder, smtp: Any, caplog: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = smtp("none"), smtp("none")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com")
    home.connections["smtp_servers"] = [first.entry("a"), second.entry("b")]
    failing_fs_schedule(home)
    with caplog.at_level(logging.ERROR, logger="pstt.email.notices"):
        home.pstt().run("fs")
    assert "set PSTT_EMAIL_NOTIFY_SERVER" in caplog.text
    assert first.mailbox.messages == second.mailbox.messages == []
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_SERVER", "b")
    pstt = home.pstt()
    pstt.run("fs")
    assert first.mailbox.messages == [] and len(second.mailbox.messages) == 1
    assert pstt.health()["status"] in ("healthy", "degraded")
    email_check = next(c for c in pstt.health()["checks"] if c["name"] == "email")
    assert email_check["status"] == "healthy"


def test_health_reports_bad_notice_settings(home: HomeBuilder, smtp: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("none")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "broken-address")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_SERVER", "nope")
    home.connections["smtp_servers"] = [server.entry()]
    check = next(c for c in home.pstt().health()["checks"] if c["name"] == "email")
    assert check["status"] == "degraded"
    assert "PSTT_EMAIL_NOTIFY_TO[0]" in check["detail"] and "'nope'" in check["detail"]


def test_notices_are_rate_limited_and_a_recovery_notice_follows(
        home: HomeBuilder, smtp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("none")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com")
    monkeypatch.setenv("PSTT_PUBLIC_URL", "https://pstt.example.com/")
    home.connections["smtp_servers"] = [server.entry()]
    failing_fs_schedule(home)
    pstt = home.pstt()
    first = pstt.run("fs")
    for _ in range(3):  # an every-minute schedule failing: one notice, not one per run
        assert pstt.run("fs").status == "failed"
    assert len(server.mailbox.messages) == 1
    body = server.mailbox.messages[0].message.get_body(preferencelist=("plain",)).get_content()
    assert f"Run:          https://pstt.example.com/api/runs/{first.export_id}" in body
    assert "History:      https://pstt.example.com/history?schedule_id=fs" in body
    # The source is repaired: the next success sends one recovery notice.
    schedule = pstt.schedules.get("fs")
    pstt.patch_schedule("fs", {"query": "SELECT * FROM orders WHERE id <= 2",
                               "sink_options": {**schedule.sink_options, "overwrite": True}})
    assert pstt.run("fs").status == "success"
    assert pstt.run("fs").status == "success"  # no second recovery notice
    assert len(server.mailbox.messages) == 2
    recovery = server.mailbox.messages[1].message
    assert recovery["Subject"] == "[PSTT] recovered: Nightly files (fs)"
    assert recovery["X-PSTT-Notice"] == "recovered"
    assert "succeeded again after 4 failed run(s)" in recovery.get_body(
        preferencelist=("plain",)).get_content()


def test_held_back_failures_are_counted_in_the_next_notice(
        home: HomeBuilder, smtp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("none")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_INTERVAL_SEC", "1")
    home.connections["smtp_servers"] = [server.entry()]
    failing_fs_schedule(home)
    pstt = home.pstt()
    pstt.run("fs")
    pstt.run("fs")
    pstt.run("fs")  # two held back
    import time
    time.sleep(1.2)
    pstt.run("fs")
    assert len(server.mailbox.messages) == 2
    body = server.mailbox.messages[1].message.get_body(preferencelist=("plain",)).get_content()
    assert "2 more failure(s) of this schedule since the last notice" in body


def test_interrupted_runs_are_notified(home: HomeBuilder, smtp: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from pstt_core import RunRecord
    from pstt_sinks_email.notices import on_run_finished

    server = smtp("none")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com")
    home.connections["smtp_servers"] = [server.entry()]
    failing_fs_schedule(home)
    pstt = home.pstt()
    record = RunRecord(export_id="e-1", schedule_id="fs", sharing_mode="filesystem",
                       status="interrupted", started_at="2026-01-01T00:00:00+00:00",
                       error="interrupted by SIGTERM")
    on_run_finished(record, pstt.schedules.get("fs"), pstt.plugin_env("email"))
    assert [m.message["X-PSTT-Notice"] for m in server.mailbox.messages] == ["run-interrupted"]
