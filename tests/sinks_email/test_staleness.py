"""A schedule whose source is broken: it becomes stale (metric, page, one notice), its failure
notices are rate-limited, and its next success sends a recovery notice."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import HomeBuilder, wait_for


def test_broken_source_goes_stale_once_then_recovers(home: HomeBuilder, smtp: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    server = smtp("none")
    monkeypatch.setenv("PSTT_EMAIL_NOTIFY_TO", "oncall@example.com")
    home.connections["smtp_servers"] = [server.entry()]
    pstt = home.pstt(logs=False, environ={"PSTT_STALENESS_CHECK_SEC": "1",
                                          "PSTT_EMAIL_NOTIFY_TO": "oncall@example.com"})
    pstt.create_schedule({"id": "feed", "name": "Feed", "connection": "demo",
                          "query": "SELECT * FROM no_such_table", "sharing_mode": "filesystem",
                          "trigger": {"type": "interval", "seconds": 1},
                          "max_staleness_sec": 3,
                          "sink_options": {"filename": "feed_{export_id}.csv"}})
    pstt.start()
    try:
        def kinds() -> list[str]:
            return [m.message["X-PSTT-Notice"] for m in server.mailbox.messages]

        wait_for(lambda: "stale" in kinds(), timeout=30, what="a stale notice")
        failures = [r for r in pstt.history.query(schedule_id="feed", limit=None)[1]
                    if r["status"] == "failed"]
        assert len(failures) >= 2
        assert kinds().count("run-failed") == 1  # rate-limited: one per hour by default
        with TestClient(pstt.asgi_app(), base_url="http://localhost") as client:
            assert 'pstt_schedule_stale{schedule="feed"} 1.0' in client.get("/metrics").text
            page = client.get("/").text
            assert "Stale schedules" in page and "<b>feed</b>" in page
            stale = next(m.message for m in server.mailbox.messages
                         if m.message["X-PSTT-Notice"] == "stale")
            assert stale["Subject"] == "[PSTT] stale: Feed (feed)"
            # The source is repaired: a success, one recovery notice, no longer stale.
            schedule = pstt.schedules.get("feed")
            pstt.patch_schedule("feed", {"query": "SELECT * FROM orders WHERE id <= 2",
                                         "sink_options": schedule.sink_options})
            wait_for(lambda: "recovered" in kinds(), timeout=30, what="a recovery notice")
            assert 'pstt_schedule_stale{schedule="feed"} 0.0' in client.get("/metrics").text
        assert kinds().count("stale") == 1 and kinds().count("recovered") == 1
    finally:
        pstt.stop()
