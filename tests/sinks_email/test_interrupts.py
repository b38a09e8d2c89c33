"""SIGTERM of a real ``pstt run`` during an e-mail export: the message is sent whole or not
at all — stopped before its end, nothing reaches the SMTP server."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.conftest import HomeBuilder, wait_for
from tests.processes import counting_query, interrupt, journal_running, start_pstt
from tests.sinks_email.conftest import email_home

ROWS = 3_000_000
pytestmark = pytest.mark.slow


def test_sigterm_before_the_last_row_sends_nothing(home: HomeBuilder, smtp: Any) -> None:
    server = smtp()
    email_home(home, server, max_bytes=2_000_000_000, zip_above_bytes=None)
    home.schedules[-1].update(query=counting_query(ROWS), batch_size=5000)
    root = home.write()
    proc = start_pstt(root, "run", "mail", "--no-progress")
    wait_for(lambda: journal_running(root, min_rows=1), 60,
             what="the run's first checkpoint", proc=proc)
    record = interrupt(proc, root, signal.SIGTERM, schedule_id="mail")
    assert 0 < record["rows"] < ROWS
    assert record["recipients"] == 0 and "message_id" not in record
    assert server.mailbox.data_calls == 0 and server.mailbox.messages == []
