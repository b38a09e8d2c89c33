"""Daily log files with retention, and secrets that never reach them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pstt_core import hookimpl
from pstt_core.logs import prune, setup_logging, tail, teardown_logging
from tests.conftest import HomeBuilder, registered
from tests.core.conftest import Recorder


@pytest.fixture
def logged_home(home: HomeBuilder) -> Iterator[HomeBuilder]:
    yield home
    teardown_logging(home.root / "logs")


def today_log(home: HomeBuilder) -> Path:
    return home.root / "logs" / f"app_{datetime.now():%Y%m%d}.log"


def test_runs_are_logged_to_the_daily_file(logged_home: HomeBuilder, recorder: Recorder) -> None:
    logged_home.add_schedule(id="daily", query="SELECT 1 AS one", sharing_mode="recorder")
    record = logged_home.pstt(environ={}).run("daily")
    text = today_log(logged_home).read_text(encoding="utf-8")
    assert f"run {record.export_id} of schedule daily finished: success, 1 rows" in text
    entries = tail(logged_home.root / "logs", level="info", search=record.export_id)
    assert [e["level"] for e in entries] == ["INFO", "INFO"]


def test_a_failed_run_is_logged_as_a_warning(logged_home: HomeBuilder, recorder: Recorder) -> None:
    logged_home.add_schedule(id="broken", query="SELECT nothing FROM nowhere",
                             sharing_mode="recorder")
    record = logged_home.pstt(environ={}).run("broken")
    assert record.status == "failed"
    entries = tail(logged_home.root / "logs", level="warning", search=record.export_id)
    assert [e["level"] for e in entries] == ["WARNING"]
    assert f"WARNING pstt.runner: run {record.export_id} of schedule broken finished: failed" \
        in entries[0]["text"]


def test_old_daily_files_are_pruned(logged_home: HomeBuilder, recorder: Recorder) -> None:
    logs = logged_home.root / "logs"
    logs.mkdir()
    today = datetime.now().date()
    old = logs / f"app_{today - timedelta(days=8):%Y%m%d}.log"
    recent = logs / f"app_{today - timedelta(days=6):%Y%m%d}.log"
    other = logs / "app_notes.log"
    for path in (old, recent, other):
        path.write_text("x\n")
    logged_home.add_schedule(id="p", query="SELECT 1 AS one", sharing_mode="recorder")
    logged_home.pstt(environ={"PSTT_LOG_RETENTION_DAYS": "7"}).run("p")
    assert not old.exists()
    assert recent.exists() and other.exists() and today_log(logged_home).exists()
    removed = prune(logs, 1, today + timedelta(days=3))
    assert set(removed) == {recent, today_log(logged_home)} and other.exists()


class Leaky:
    """An observer whose exception text carries secrets (as driver errors sometimes do)."""

    def __init__(self, secrets: list[str]):
        self.secrets = secrets

    @hookimpl
    def run_finished(self, record: Any, schedule: Any, pstt: Any) -> None:
        raise RuntimeError("login failed for " + " / ".join(self.secrets))


def test_secrets_never_reach_the_log(logged_home: HomeBuilder, recorder: Recorder) -> None:
    db_password, var_value, token = "Db-Pa55w0rd!", "from-the-env-7f3a", "api-token-Zq81x"
    logged_home.connections["databases"].append(
        {"name": "dwh", "driver": "postgresql", "host": "127.0.0.1", "port": 1,
         "username": "etl", "password": db_password, "database": "dwh"})
    logged_home.connections["databases"].append(
        {"name": "other", "url": "sqlite:///other.db?x=${OTHER_KEY}"})
    secrets = [db_password, var_value, token]
    logged_home.add_schedule(id="leak", query="SELECT 1 AS one", sharing_mode="recorder",
                             sink_options={"fail": True, "label": " ".join(secrets)})
    logged_home.add_schedule(id="dwh", connection="dwh", query="SELECT 1", sharing_mode="recorder")
    with registered(Leaky(secrets), "leaky"):
        pstt = logged_home.pstt(environ={"OTHER_KEY": var_value, "PSTT_API_TOKEN": token})
        record = pstt.run("leak")
        pstt.run("dwh")
        try:
            raise ValueError(f"password was {db_password}")
        except ValueError:
            logging.getLogger("pstt.test").exception("with a traceback: %s", token)
    assert record.status == "failed"
    text = today_log(logged_home).read_text(encoding="utf-8")
    assert "recorder was told to fail: *** *** ***" in text
    assert "RuntimeError: login failed for *** / *** / ***" in text  # traceback text redacted
    assert "ValueError: password was ***" in text and "with a traceback: ***" in text
    for secret in secrets:
        assert secret not in text


def test_logging_setup_is_idempotent(tmp_path: Path) -> None:
    first = setup_logging(tmp_path / "logs", "debug", 5)
    second = setup_logging(tmp_path / "logs", "info", 9)
    try:
        assert first is second and second.retention_days == 9
        handlers = [h for h in logging.getLogger("pstt").handlers if h is first]
        assert len(handlers) == 1
    finally:
        teardown_logging(tmp_path / "logs")
    assert first not in logging.getLogger("pstt").handlers


def test_a_closed_handler_that_stays_attached_reopens_its_file(
        logged_home: HomeBuilder, recorder: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    """uvicorn's logging.config.dictConfig closes every existing handler, ours included."""
    logged_home.add_schedule(id="r", query="SELECT 1 AS one", sharing_mode="recorder")
    pstt = logged_home.pstt(environ={})
    logging.getLogger("pstt.test").warning("before the close")
    handlers = [h for h in logging.getLogger("pstt").handlers
                if getattr(h, "directory", None) == logged_home.root / "logs"]
    assert len(handlers) == 1
    handlers[0].close()
    record = pstt.run("r")
    text = today_log(logged_home).read_text(encoding="utf-8")
    assert "before the close" in text
    assert f"run {record.export_id} of schedule r finished: success" in text
    assert "Logging error" not in capsys.readouterr().err


def _pstt_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger("pstt").handlers if h.__class__.__name__ == "DailyFileHandler"]


def test_homes_in_one_process_keep_their_own_logs_and_close_them(tmp_path: Path,
                                                                 recorder: Recorder) -> None:
    """An embedding application may open many homes: each run is logged to its own home,
    and ``close()`` detaches the handler once the home's last instance is closed."""
    before = len(_pstt_handlers())
    homes = [HomeBuilder(tmp_path / name) for name in ("a", "b")]
    for h in homes:
        h.add_schedule(id="only", query="SELECT 1 AS one", sharing_mode="recorder")
    a, b = (h.pstt(environ={}) for h in homes)
    a_again = homes[0].pstt(environ={})  # a second instance shares home a's handler
    assert len(_pstt_handlers()) == before + 2
    run_a, run_b = a.run("only"), b.run("only")
    text_a, text_b = today_log(homes[0]).read_text(), today_log(homes[1]).read_text()
    assert run_a.export_id in text_a and run_a.export_id not in text_b
    assert run_b.export_id in text_b and run_b.export_id not in text_a
    a.close()
    assert len(_pstt_handlers()) == before + 2  # a_again still logs to home a
    a_again.run("only")
    a_again.close()
    b.close()
    assert len(_pstt_handlers()) == before
    with a_again:  # a closed instance may start again: its handler comes back
        assert len(_pstt_handlers()) == before + 1
    assert len(_pstt_handlers()) == before
    assert "PSTT stopped" in today_log(homes[0]).read_text()
