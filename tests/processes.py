"""``pstt run`` / ``pstt serve`` as real processes, and what a test waits for in them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pstt_core.cli import cli
from tests.conftest import cli_env, free_port, wait_listening


# A query of many rows that needs no table (SQLite and PostgreSQL alike).
def counting_query(rows: int) -> str:
    return (f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) "
            "SELECT x AS id, 'row number ' || x AS label FROM c")


def start_pstt(home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """``pstt --home HOME ARGS`` started in a new process (see ``pstt_process`` to wait for
    one)."""
    return subprocess.Popen([sys.executable, "-m", "pstt_core", "--home", str(home), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(**env))


@contextmanager
def demo_server(home: Path, **env: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``pstt serve`` of a new demo home (``pstt init --demo`` in ``home``) with ``env``,
    listening on a free port; SIGTERM and waited for after the block (its exit code is then
    ``returncode``). Its output is in the failure when it does not start."""
    result = CliRunner().invoke(cli, ["--home", str(home), "init", "--demo"])
    assert result.exit_code == 0, result.output
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pstt_core", "--home", str(home), "serve",
                             "--port", str(port)], env=cli_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:  # uvicorn listens once the app's lifespan (PSTT start) is done
        wait_listening(port, proc, 30, "pstt serve")
    except RuntimeError as exc:
        proc.kill()
        pytest.fail(f"{exc}: {proc.stdout.read().decode() if proc.stdout else ''}")
    try:
        yield port, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def start_run(home: Path, schedule_id: str, command: str, port: int) -> subprocess.Popen[str]:
    """A run of ``schedule_id`` in a new process: ``pstt run`` itself (``command="run"``), or
    ``pstt serve`` on ``port`` asked over HTTP to run it in the background."""
    if command == "run":
        return start_pstt(home, "run", schedule_id, "--no-progress")
    proc = start_pstt(home, "serve", "--port", str(port))
    wait_listening(port, proc, 30, "pstt serve")
    base = f"http://127.0.0.1:{port}"
    req = urllib.request.Request(f"{base}/api/schedules/{schedule_id}/run?background=true",
                                 data=b"{}", headers={"Content-Type": "application/json"},
                                 method="POST")
    assert urllib.request.urlopen(req, timeout=10).status == 202
    return proc


def interrupt(proc: subprocess.Popen[str], home: Path, sig: int, schedule_id: str = "big",
              timeout: float = 120) -> dict[str, Any]:
    """Send ``sig`` to the process running ``schedule_id``; after its exit with 128 + ``sig``,
    the run's one history record, which says ``interrupted`` by that signal."""
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 128 + sig, err
    runs = [r for r in history(home) if r["schedule_id"] == schedule_id]
    assert len(runs) == 1, runs
    assert (runs[0]["status"], runs[0]["error"]) == (
        "interrupted", f"interrupted by {signal.Signals(sig).name}")
    return runs[0]


def journal_running(home: Path, min_rows: int = 0) -> dict[str, Any] | None:
    """The record of a run in progress, once its checkpoint shows ``min_rows``."""
    for path in (home / "exports" / ".journal").glob("*.json"):
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if entry.get("journal") == "running" and entry["record"].get("rows", 0) >= min_rows:
            return dict(entry["record"])
    return None


def history(home: Path) -> list[dict[str, Any]]:
    path = home / "exports" / "scheduler_history.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return list(data["runs"] if isinstance(data, dict) else data)
