"""The command line: init, run, check, plugins, schedules — output and exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pstt_core.cli import build_cli
from tests.conftest import HomeBuilder, pstt_process, write_json


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(build_cli(), ["--home", str(home), *args])


def pstt(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return pstt_process(home, *args)


def test_init_creates_a_home_and_is_idempotent(tmp_path: Path) -> None:
    home = tmp_path / "h"
    first = cli(home, "init")
    assert first.exit_code == 0, first.output
    assert json.loads((home / "connections.json").read_text()) == {"databases": []}
    assert json.loads((home / "exports" / "schedules.json").read_text()) == {"schedules": []}
    assert (home / ".env").is_file() and (home / "logs").is_dir()
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    second = cli(home, "init")
    assert second.exit_code == 0 and "created" not in second.output
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before


def test_init_demo_keeps_existing_entries(tmp_path: Path) -> None:
    mine = {"name": "dwh", "url": "postgresql+psycopg://etl:${DWH_PASSWORD}@db1/dwh"}
    write_json(tmp_path / "connections.json", {"databases": [mine], "smtp": [{"name": "mail"}]})
    write_json(tmp_path / "exports" / "schedules.json",
               {"schedules": [{"id": "hand-made", "anything": True}]})
    (tmp_path / ".env").write_text("DWH_PASSWORD=x\n")
    result = cli(tmp_path, "init", "--demo")
    assert result.exit_code == 0, result.output
    conns = json.loads((tmp_path / "connections.json").read_text())
    assert conns["databases"][0] == mine and conns["databases"][1]["name"] == "demo"
    assert conns["smtp"] == [{"name": "mail"}]
    scheds = json.loads((tmp_path / "exports" / "schedules.json").read_text())["schedules"]
    assert scheds[0] == {"id": "hand-made", "anything": True}
    assert {"demo-orders-csv", "demo-revenue-by-city"} <= {s["id"] for s in scheds}
    assert (tmp_path / ".env").read_text() == "DWH_PASSWORD=x\n"
    again = cli(tmp_path, "init", "--demo")
    assert again.exit_code == 0
    assert json.loads((tmp_path / "exports" / "schedules.json").read_text())["schedules"] == scheds


def test_init_refuses_a_corrupt_file_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "connections.json").write_text('{"databases": [')
    result = cli(tmp_path, "init", "--demo")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {tmp_path / 'connections.json'}: invalid JSON: Expecting value (line 1, column 16)"]
    assert (tmp_path / "connections.json").read_text() == '{"databases": ['
    assert sorted(p.name for p in tmp_path.iterdir()) == ["connections.json", "exports", "logs"]


def test_demo_then_run_in_a_shell(tmp_path: Path) -> None:
    assert pstt(tmp_path, "init", "--demo").returncode == 0
    ok = pstt(tmp_path, "run", "demo-orders-csv")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("success: 5,000 rows read, 5,000 delivered in ")
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [
        ".journal", "demo", "filesystem_state.json", "scheduler_history.json",
        "scheduler_metrics.json", "schedules.json"]  # no locks; the sink's record of its files
    assert list((tmp_path / "exports" / ".journal").iterdir()) == []  # the record is final
    files = list((tmp_path / "exports" / "demo").glob("orders_*.csv"))
    assert len(files) == 1 and files[0].read_bytes().startswith(b"\xef\xbb\xbforder_id;")
    assert ok.stderr == ""

    listed = pstt(tmp_path, "schedules", "list", "--json")
    data = json.loads(listed.stdout)
    rows = {r["id"]: r for r in data["schedules"]}
    assert rows["demo-orders-csv"]["last_run"]["status"] == "success"
    assert rows["demo-revenue-by-city"]["enabled"] is False and data["invalid"] == []


@pytest.fixture
def shell_home(home: HomeBuilder) -> Path:
    home.add_schedule(id="good", query="SELECT id FROM orders WHERE id < 4",
                      sink_options={"filename": "good.csv", "overwrite": True})
    home.add_schedule(id="broken-sql", query="SELECT nope FROM orders",
                      sink_options={"filename": "bad.csv"})
    home.add_schedule(id="invalid", connection="nowhere")
    return home.write()


def test_run_exit_codes(shell_home: Path) -> None:
    ok = pstt(shell_home, "run", "good", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["rows"] == 3

    failed = pstt(shell_home, "run", "broken-sql")
    assert failed.returncode == 1
    assert failed.stdout.startswith("failed: 0 rows read, 0 delivered")
    assert failed.stderr == "error: SQL error: OperationalError: no such column: nope\n"

    unknown = pstt(shell_home, "run", "missing")
    assert (unknown.returncode, unknown.stderr) == (2, "error: no schedule with id 'missing'\n")

    invalid = pstt(shell_home, "run", "invalid")
    assert invalid.returncode == 2
    assert invalid.stderr == (f"error: {shell_home / 'exports' / 'schedules.json'} at "
                              "$.schedules[2].connection: unknown database connection 'nowhere'; "
                              "configured: demo\n")

    (shell_home / "connections.json").write_text('{"databases": [}')
    broken = pstt(shell_home, "run", "good")
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr and len(broken.stderr.splitlines()) == 1
    assert broken.stderr.startswith(f"error: {shell_home / 'connections.json'}: invalid JSON")


def test_check_exit_codes(shell_home: Path) -> None:
    bad = cli(shell_home, "check")
    assert bad.exit_code == 1
    assert "schedules.json: 2 valid, 1 invalid" in bad.output
    assert "✗ invalid: " in bad.output and bad.output.rstrip().endswith("1 problem(s)")
    schedules = shell_home / "exports" / "schedules.json"
    data = json.loads(schedules.read_text())
    data["schedules"] = data["schedules"][:2]
    schedules.write_text(json.dumps(data))
    good = cli(shell_home, "check")
    assert good.exit_code == 0, good.output
    assert "✓ databases: healthy" in good.output and good.output.rstrip().endswith("OK")


def test_plugins_command_lists_sinks(shell_home: Path) -> None:
    result = cli(shell_home, "plugins", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    fs = next(s for s in data["sinks"] if s["name"] == "filesystem")
    assert fs == {"name": "filesystem", "plugin": "filesystem", "available": True, "reason": None}
    assert {"pstt_core", "filesystem"} <= {p["name"] for p in data["plugins"]}


def test_run_refused_while_another_process_runs_the_schedule(shell_home: Path) -> None:
    from pstt_core import Pstt

    service = Pstt(shell_home, logs=False, environ={})
    claimed = service.runner.prepare("good")
    service.runner.reserve(claimed)  # as if `pstt serve` were running it right now
    try:
        busy = pstt(shell_home, "run", "good")
        assert busy.returncode == 3
        assert busy.stderr == "error: schedule 'good' is already running (in another process)\n"
    finally:
        record = service.runner.run(claimed, reserved=True)  # runs and releases the claim
    assert record.status == "success"
    assert pstt(shell_home, "run", "good").returncode == 0


def test_run_with_progress_and_quiet_output(shell_home: Path) -> None:
    shown = cli(shell_home, "run", "good", "--progress")
    assert shown.exit_code == 0, shown.output
    assert "success: 3 rows read, 3 delivered in " in shown.stdout and "→ good.csv" in shown.stdout
    quiet = pstt(shell_home, "run", "good")  # not a terminal: no progress bar
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.count("\n") == 1


def test_schedules_next_prints_what_the_api_says(home: HomeBuilder) -> None:
    from datetime import datetime, timezone

    from starlette.testclient import TestClient

    from pstt_core import Pstt

    home.add_schedule(id="weekdays", trigger={"type": "cron", "expression": "0 7 * * 1-5"},
                      timezone="Europe/Rome")
    root = home.write()
    before = datetime.now(timezone.utc)
    api = TestClient(Pstt(root, logs=False, environ={}).asgi_app(), base_url="http://localhost").get(
        "/api/schedules/weekdays").json()["next_runs"]
    shown = pstt(root, "schedules", "next", "weekdays", "--json")
    after = datetime.now(timezone.utc)
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)
    assert len(listed) == len(api) == 5
    if any(before <= datetime.fromisoformat(t) <= after for t in api):
        assert listed[:4] == api[1:]  # a fire time passed between the two questions
    else:
        assert listed == api
    times = [datetime.fromisoformat(t) for t in listed]
    assert all(t.strftime("%H:%M") == "07:00" and t.weekday() < 5 for t in times)


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("30 2 * * *", "2026-10-24T12:00", ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00",
                                        "2026-10-27T02:30:00+01:00"]),
    ("30 2 * * *", "2026-03-28T11:00:00Z", ["2026-03-29T03:00:00+02:00",
                                            "2026-03-30T02:30:00+02:00",
                                            "2026-03-31T02:30:00+02:00"]),
    ("0 6 * * 7", "2026-01-01T00:00:00+01:00", ["2026-01-04T06:00:00+01:00",
                                                "2026-01-11T06:00:00+01:00",
                                                "2026-01-18T06:00:00+01:00"]),
])
def test_schedules_next_after_a_time(home: HomeBuilder, expression: str, after: str,
                                     expected: list[str]) -> None:
    home.add_schedule(id="s", trigger={"type": "cron", "expression": expression},
                      timezone="Europe/Rome", enabled=False)  # listed, enabled or not
    root = home.write()
    as_json = cli(root, "schedules", "next", "s", "--after", after, "--count", "3", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == expected
    text = cli(root, "schedules", "next", "s", "--after", after, "--count", "1")
    assert text.output.split() == [expected[0], *_weekday_and_zone(expected[0])]


def _weekday_and_zone(iso_time: str) -> list[str]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(iso_time).astimezone(ZoneInfo("Europe/Rome")).strftime(
        "%a %Z").split()


@pytest.mark.parametrize(("args", "message"), [
    (["s", "--after", "tomorrow"], "'tomorrow' is not an ISO-8601 time"),
    (["s", "--count", "0"], "0 is not in the range 1<=x<=1000"),
    (["nope"], "error: no schedule with id 'nope'"),
])
def test_schedules_next_refuses_bad_input(home: HomeBuilder, args: list[str],
                                          message: str) -> None:
    home.add_schedule(id="s")
    result = cli(home.write(), "schedules", "next", *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
