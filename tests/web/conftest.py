"""Fixtures for the web tests: a home with schedules and a TestClient (the live uvicorn server
and the CSRF helper are in tests/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pstt_core import Pstt
from pstt_core.logs import teardown_logging
from tests.conftest import HomeBuilder

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
        client = TestClient(pstt.asgi_app(), raise_server_exceptions=False, base_url="http://localhost")
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


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> HomeBuilder:
    root = tmp_path_factory.mktemp("webhome")
    shutil.copy(demo_db, root / "demo.db")
    return HomeBuilder(root)
