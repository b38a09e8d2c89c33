"""Result gates of the core on the e-mail sharing mode (tests/core/test_gates.py has the
filesystem ones and the validation)."""

from __future__ import annotations

from typing import Any

from tests.conftest import HomeBuilder
from tests.core.test_gates import EMPTY, TEN
from tests.sinks_email.conftest import email_home


def test_email_gates_send_no_mail(home: HomeBuilder, smtp: Any) -> None:
    server = smtp()
    email_home(home, server)
    home.schedules[0].update(query=EMPTY, on_empty="fail")
    home.add_schedule(id="few", sharing_mode="email", query=TEN, min_rows=50,
                      sink_options={"server": "mail", "to": ["ops@example.com"]})
    pstt = home.pstt(logs=False)
    empty = pstt.run("mail")
    assert empty.status == "failed" and "returned no rows" in empty.error
    few = pstt.run("few")
    assert few.status == "failed" and "fewer than min_rows (50)" in few.error
    assert server.mailbox.messages == []
