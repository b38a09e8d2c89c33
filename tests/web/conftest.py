"""Fixtures for the web tests: a home with schedules, a TestClient, a real uvicorn server."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from pstt_core import Pstt
from pstt_core.logs import teardown_logging
from tests.conftest import HomeBuilder, free_port

TOKEN = "t0ken-Secret-9f3b2c"


def csv_schedule(home: HomeBuilder, sid: str = "orders", **fields: Any) -> dict[str, Any]:
    return home.add_schedule(id=sid, name=fields.pop("name", "Orders export"),
                             sink_options={"format": "csv", "filename": f"{sid}_{{export_id}}.csv"},
                             **fields)


@pytest.fixture
def make_client(home: HomeBuilder) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**environ)`` → a TestClient (lifespan entered) on ``home``; the
    scheduler is off unless ``PSTT_SCHEDULER_ENABLED`` is passed."""
    opened: list[tuple[TestClient, Pstt]] = []

    def make(**environ: str) -> TestClient:
        env = {"PSTT_SCHEDULER_ENABLED": "false", **environ}
        pstt = home.pstt(environ=env)
        client = TestClient(pstt.asgi_app(), raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, pstt))
        return client

    yield make
    for client, _ in opened:
        client.__exit__(None, None, None)
    teardown_logging(home.root / "logs")


@pytest.fixture
def client(home: HomeBuilder, make_client: Callable[..., TestClient]) -> TestClient:
    """No token; a schedule ``orders`` (filesystem, CSV) exists."""
    csv_schedule(home)
    return make_client()


def csrf(client: TestClient) -> dict[str, str]:
    """The CSRF header of the client's session (as the pages' script sends it)."""
    page = client.get("/login")
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return {"X-CSRF-Token": page.text[start:page.text.index('"', start)]}


class LiveServer:
    """uvicorn serving an app on a free port, in a thread (lifespan included)."""

    def __init__(self, app: Any):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> HomeBuilder:
    root = tmp_path_factory.mktemp("webhome")
    shutil.copy(demo_db, root / "demo.db")
    return HomeBuilder(root)
