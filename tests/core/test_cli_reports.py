"""The CLI as scripts use it: real ``pstt`` processes, ``--json`` equal to the API's answers,
exit codes, homes that are not homes, and read-only commands that leave no trace."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HomeBuilder, cli_env, pstt_process

READ_ONLY = [("schedules", "list"), ("schedules", "list", "--json"),
             ("schedules", "show", "orders"), ("schedules", "show", "orders", "--json"),
             ("history",), ("history", "orders", "--status", "success", "--json"),
             ("check",), ("check", "--json"), ("check", "--offline"), ("plugins",),
             ("settings",), ("settings", "--json"), ("kafka", "connections"),
             ("kafka", "settings")]


def tree(root: Path) -> dict[str, tuple[int, int] | None]:
    """Every path under ``root`` with its size and modification time (None for directories)."""
    out: dict[str, tuple[int, int] | None] = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        out[str(path.relative_to(root))] = None if path.is_dir() else (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def cli_home(home: HomeBuilder) -> Path:
    """Two cron schedules, a disabled interval one, an invalid one, and one run of ``orders``."""
    home.add_schedule(id="orders", name="Orders", query="SELECT id, amount FROM orders WHERE id <= 7",
                      trigger={"type": "cron", "expression": "0 6 * * *"}, timezone="Europe/Rome",
                      sink_options={"filename": "orders_{export_id}.csv"})
    home.add_schedule(id="broken-sql", query="SELECT nope FROM orders",
                      trigger={"type": "cron", "expression": "*/10 * * * *"},
                      sink_options={"filename": "bad.csv"})
    home.add_schedule(id="hourly", enabled=False, sink_options={"filename": "h.csv"})
    home.add_schedule(id="invalid", connection="nowhere")
    root = home.write()
    assert pstt_process(root, "run", "orders").returncode == 0
    assert pstt_process(root, "run", "broken-sql").returncode == 1
    return root


def test_read_only_commands_create_and_change_nothing(cli_home: Path) -> None:
    before = tree(cli_home)
    for args in READ_ONLY:
        result = pstt_process(cli_home, *args)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert result.returncode in (0, 1), (args, result.returncode, result.stderr)
    assert tree(cli_home) == before


def test_a_directory_without_connections_json_is_not_a_home(tmp_path: Path) -> None:
    result = pstt_process(None, "schedules", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"error: not a PSTT home: {tmp_path} has no connections.json; run "
                             f"`pstt --home {tmp_path} init` to create one\n")
    assert list(tmp_path.iterdir()) == []
    missing = tmp_path / "nonexistent"
    for args in (("check",), ("history",), ("run", "x"), ("serve",), ("kafka", "connections")):
        result = pstt_process(missing, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(f"error: not a PSTT home: {missing} does not exist"), args
    assert not missing.exists()
    assert pstt_process(missing, "init").returncode == 0  # the one command that makes a home
    assert (missing / "connections.json").is_file()
    assert pstt_process(missing, "check").returncode == 0


def test_schedules_list_has_a_header_next_and_last_run(cli_home: Path) -> None:
    result = pstt_process(cli_home, "schedules", "list", PSTT_DISPLAY_TIMEZONE="UTC")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "ENABLED", "MODE", "TRIGGER", "NEXT", "RUN", "LAST", "RUN"]
    orders = next(line for line in lines if line.startswith("orders "))
    # 06:00 in Rome is 04:00 or 05:00 UTC: the schedule's own zone is shown next to it
    assert "cron 0 6 * * * Europe/Rome" in orders and "(06:00 Europe/Rome)" in orders
    assert " UTC (06:00" in orders and "success 20" in orders
    hourly = next(line for line in lines if line.startswith("hourly "))
    assert hourly.split()[1:4] == ["no", "filesystem", "every"]
    assert lines[-1].startswith("INVALID invalid: $.schedules[3].connection: unknown database")


def test_history_filters_and_outcome_columns(cli_home: Path) -> None:
    result = pstt_process(cli_home, "history")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["STARTED", "SCHEDULE", "STATUS", "MODE", "READ", "DELIVERED",
                              "TIME", "DETAIL"]
    assert "broken-sql" in rows[0] and "failed" in rows[0] and "no such column: nope" in rows[0]
    assert "orders" in rows[1] and " 7 " in rows[1] and "path=orders_" in rows[1]
    only = json.loads(pstt_process(cli_home, "history", "--status", "failed", "--json").stdout)
    assert only["total"] == 1 and only["runs"][0]["schedule_id"] == "broken-sql"
    assert only["runs"][0]["rows_delivered"] == 0
    mine = json.loads(pstt_process(cli_home, "history", "orders", "--limit", "1", "--json").stdout)
    assert mine["limit"] == 1 and mine["runs"][0]["rows_delivered"] == 7
    bad = pstt_process(cli_home, "history", "--status", "nope")
    assert bad.returncode == 2 and "'nope' is not one of" in bad.stderr


def test_schedules_show_enable_disable(cli_home: Path) -> None:
    shown = pstt_process(cli_home, "schedules", "show", "orders")
    assert shown.returncode == 0, shown.stderr
    assert "trigger:      cron 0 6 * * * Europe/Rome" in shown.stdout
    assert "SELECT id, amount FROM orders WHERE id <= 7" in shown.stdout
    off = pstt_process(cli_home, "schedules", "disable", "orders")
    assert off.returncode == 0 and off.stdout.startswith("schedule orders disabled")
    data = json.loads(pstt_process(cli_home, "schedules", "show", "orders", "--json").stdout)
    assert data["enabled"] is False and data["next_run"] is None
    assert pstt_process(cli_home, "schedules", "enable", "orders").returncode == 0
    stored = json.loads((cli_home / "exports" / "schedules.json").read_text())["schedules"]
    assert next(s for s in stored if s["id"] == "orders")["enabled"] is True
    unknown = pstt_process(cli_home, "schedules", "enable", "nope")
    assert (unknown.returncode, unknown.stderr) == (2, "error: no schedule with id 'nope'\n")
    invalid = pstt_process(cli_home, "schedules", "show", "invalid")
    assert invalid.returncode == 2 and "unknown database connection 'nowhere'" in invalid.stderr


def test_check_json_reports_every_problem(cli_home: Path) -> None:
    result = pstt_process(cli_home, "check", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["schedules"]["valid"] == 3
    assert report["schedules"]["invalid"] == [{
        "id": "invalid", "path": "$.schedules[3].connection",
        "error": "unknown database connection 'nowhere'; configured: demo"}]
    checks = {c["name"]: c for c in report["health"]["checks"]}
    assert checks["databases"]["status"] == "healthy"
    assert "scheduler" not in checks


def test_three_missing_variables_are_named_at_once(home: HomeBuilder) -> None:
    home.connections["databases"] += [
        {"name": "dwh", "url": "postgresql+psycopg://etl:${DWH_PASSWORD}@db1:5432/dwh"},
        {"name": "crm", "driver": "mysql", "host": "${CRM_HOST}", "username": "u",
         "password": "${CRM_PASSWORD}", "database": "crm"}]
    home.add_schedule(id="orders", sink_options={"filename": "o.csv"})
    root = home.write()
    names = ("${DWH_PASSWORD}", "${CRM_HOST}", "${CRM_PASSWORD}")
    check = pstt_process(root, "check")
    assert check.returncode == 1
    for name, path in zip(names, ("$.databases[1].url", "$.databases[2].host",
                                  "$.databases[2].password"), strict=True):
        assert f"✗ {path}: environment variable {name} is not set" in check.stdout
    assert "connections not tested: environment variables are not set" in check.stdout
    assert check.stdout.rstrip().endswith("3 problem(s)")
    for args in (("schedules", "list"), ("history",), ("settings",)):
        result = pstt_process(root, *args)
        assert result.returncode == 0, (args, result.stderr)
        warning = result.stderr.splitlines()[0]
        assert warning.startswith("warning: ") and all(n in warning for n in names), warning
    run = pstt_process(root, "run", "orders")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("error: ") and all(n in run.stderr for n in names)
    assert "3 environment variables are not set" in run.stderr


def test_missing_sqlite_file_is_an_error_not_a_new_database(home: HomeBuilder) -> None:
    home.connections["databases"][0]["url"] = "sqlite:///dmeo.db"  # a typo of demo.db
    root = home.write()
    check = pstt_process(root, "check")
    assert check.returncode == 1
    assert f"SQLite file {root / 'dmeo.db'} does not exist" in check.stdout
    offline = pstt_process(root, "check", "--offline")  # known without connecting
    assert offline.returncode == 1 and "dmeo.db does not exist" in offline.stdout
    assert not (root / "dmeo.db").exists()
    home.connections["databases"][0]["create_if_missing"] = True
    home.write()
    assert pstt_process(root, "check").returncode == 0
    assert (root / "dmeo.db").is_file()


def test_misspelled_database_key_is_refused(home: HomeBuilder) -> None:
    home.connections["databases"][0]["display_nme"] = "Demo"
    root = home.write()
    for args in (("check",), ("schedules", "list")):
        result = pstt_process(root, *args)
        assert result.returncode == 2, args
        assert result.stderr.startswith(f"error: {root / 'connections.json'} at $.databases[0]: "
                                        "extra fields found (display_nme (did you mean "
                                        "display_name?)); known fields: name, url,")


class Served:
    """A real ``pstt serve`` process on a free port; its stdout lines arrive in ``lines``."""

    def __init__(self, home: Path, **env: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pstt_core", "--home", str(home), "serve", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(**env))
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.first = self.next_line(30)
        self.url = self.first.split(" on ")[1].split(" ")[0].rstrip("/")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"no output from pstt serve: {self.proc.stderr.read()}") from None

    def stop(self, sig: int = signal.SIGINT) -> str:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        return self.next_line(5)


@pytest.fixture
def served(cli_home: Path) -> Iterator[Served]:
    # health reflects each change at once (no 15 s cache): the tests watch transitions
    server = Served(cli_home, PSTT_SCHEDULES_RELOAD_SEC="1", PSTT_HEALTH_CACHE_SEC="0")
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()


def test_serve_prints_where_it_listens_and_when_it_stopped(served: Served, cli_home: Path) -> None:
    assert served.first == (f"PSTT serving {cli_home} on {served.url}/ (no token set: reachable "
                            "from this machine only; Ctrl-C to stop)")
    assert httpx.get(served.url + "/api/health").status_code == 200
    assert served.stop(signal.SIGTERM) == f"PSTT stopped ({served.url}/)"


def test_serve_with_a_token_says_it_is_needed_never_what_it_is(cli_home: Path) -> None:
    server = Served(cli_home, PSTT_API_TOKEN="s3cret-token-value")
    try:
        assert "pages and API need the token set in PSTT_API_TOKEN" in server.first
        assert "s3cret" not in server.first
        assert server.stop() == f"PSTT stopped ({server.url}/)"
    finally:
        server.proc.kill()


def test_json_outputs_equal_the_api(served: Served, cli_home: Path) -> None:
    api = httpx.Client(base_url=served.url, timeout=30)

    def cli(*args: str) -> Any:
        result = pstt_process(cli_home, *args, "--json")
        assert result.returncode in (0, 1), result.stderr
        return json.loads(result.stdout)

    assert cli("schedules", "list") == api.get("/api/schedules").json()
    assert cli("schedules", "show", "orders") == api.get("/api/schedules/orders").json()
    assert cli("history") == api.get("/api/history", params={"limit": 20}).json()
    assert cli("history", "orders", "--limit", "1") == api.get(
        "/api/history", params={"schedule_id": "orders", "limit": 1}).json()
    checks = {c["name"]: c["status"] for c in api.get("/api/health").json()["checks"]}
    report = cli("check")
    # check reports state files and kept records on their own (records_not_written …)
    assert {c["name"]: c["status"] for c in report["health"]["checks"]} == {
        k: v for k, v in checks.items() if k not in ("scheduler", "configuration", "records")}
    assert checks["records"] == "healthy"
    assert (report["state_file_errors"], report["records_not_written"]) == ([], [])


def test_serve_reloads_connections_json_and_keeps_the_old_one_when_broken(
        served: Served, cli_home: Path) -> None:
    api = httpx.Client(base_url=served.url, timeout=30)
    conns = cli_home / "connections.json"
    good = json.loads(conns.read_text())
    conns.write_text('{"databases": [{"name": "demo", "url": "sqlite:///demo.db",}]}')
    health = api.get("/api/health").json()
    config = next(c for c in health["checks"] if c["name"] == "configuration")
    assert config["status"] == "degraded" and health["status"] != "healthy"
    assert "connections.json was changed but cannot be used" in config["detail"]
    assert "invalid JSON" in config["detail"]
    page = api.get("/").text
    assert "connections.json was changed but cannot be used" in page
    # the configuration read before still works
    ran = httpx.post(served.url + "/api/schedules/orders/run", timeout=30)  # no cookie
    assert ran.json().get("status") == "success", ran.text
    good["databases"].append({"name": "copy", "url": "sqlite:///demo.db", "display_name": "Copy"})
    conns.write_text(json.dumps(good))
    health = api.get("/api/health").json()
    assert next(c for c in health["checks"] if c["name"] == "configuration")["status"] == "healthy"
    assert [d["name"] for d in api.get("/api/connections").json()["databases"]] == ["demo", "copy"]
    log = "".join(p.read_text() for p in (cli_home / "logs").glob("app_*.log"))
    assert log.count("connections.json changed but cannot be used") == 1


def test_check_shows_the_state_and_the_scheduler_instances(home: HomeBuilder) -> None:
    """A scheduler that ran on the home is listed (lost once stopped), with this instance."""
    from pstt_core import Pstt

    home.add_schedule(id="orders", sink_options={"filename": "o.csv"})
    root = home.write()
    with Pstt(root, logs=False) as pstt:
        pstt.start()
        instance = pstt.instance
    report = json.loads(pstt_process(root, "check", "--offline", "--json").stdout)
    assert report["state"]["backend"] == "files" and report["state"]["instance"] == instance
    assert [(i["instance"], i["alive"]) for i in report["state"]["instances"]] == [
        (instance, False)]
    text = pstt_process(root, "check", "--offline").stdout
    assert f"state: files ({root / 'exports'}); this instance: {instance}" in text
    assert f"  lost  {instance} (last heartbeat " in text
