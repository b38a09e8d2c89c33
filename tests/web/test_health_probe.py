"""``/api/health`` is a cheap probe: results cached, one check in flight on its own thread,
and without credentials (when a token is set) only the status — against a real
``pstt serve`` whose database never answers (a listener that accepts and stays silent)."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import HomeBuilder, free_port, wait_listening
from tests.processes import start_pstt
from tests.web.conftest import TOKEN, csv_schedule

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def silent_database() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word: a PostgreSQL client waits
    for the server's greeting until its connect timeout."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(512)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


def _slow_home(home: HomeBuilder, port: int) -> Path:
    home.add_database("warehouse", f"postgresql+psycopg://etl:pw@127.0.0.1:{port}/dwh",
                      options={"connect_args": {"connect_timeout": 3}})
    csv_schedule(home)
    root = home.write()
    (root / ".env").write_text(f"PSTT_API_TOKEN={TOKEN}\nPSTT_SCHEDULER_ENABLED=false\n")
    return root


def _timed_get(url: str, headers: dict[str, str]) -> float:
    t0 = time.perf_counter()
    resp = httpx.get(url, headers=headers, timeout=60)
    assert resp.status_code == 200, resp.text
    return time.perf_counter() - t0


def test_sixty_probes_in_flight_leave_the_api_fast(home: HomeBuilder, silent_database: int) -> None:
    root = _slow_home(home, silent_database)
    port = free_port()
    proc = start_pstt(root, "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_listening(port, proc, 30, "pstt serve")
        for _ in range(3):  # warm up the connection path
            _timed_get(base + "/api/schedules", AUTH)
        unloaded = statistics.median(_timed_get(base + "/api/schedules", AUTH) for _ in range(15))
        answers: list[dict[str, object]] = []

        def probe() -> None:
            answers.append(httpx.get(base + "/api/health", timeout=60).json())

        probes = [threading.Thread(target=probe) for _ in range(60)]
        for t in probes:
            t.start()
        time.sleep(0.5)  # the probes are waiting for the silent database now
        loaded = statistics.median(_timed_get(base + "/api/schedules", AUTH) for _ in range(5))
        for t in probes:
            t.join(timeout=60)
        assert len(answers) == 60
        # without credentials: the status only — no hosts, ports, database or broker names
        assert all(set(a) == {"status"} for a in answers), answers[0]
        detailed = httpx.get(base + "/api/health", headers=AUTH, timeout=60).json()
        assert {a["status"] for a in answers} == {detailed["status"]}, detailed
        assert detailed["checks"] and "scheduler" in detailed  # with the token: the report
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    ratio = loaded / unloaded
    print(f"authenticated GET /api/schedules: unloaded {unloaded * 1000:.1f} ms, with 60 health "
          f"probes in flight {loaded * 1000:.1f} ms (x{ratio:.1f})")
    # Before the cache every probe held a worker thread for the connect timeout (3 s): the
    # API request waited for a free thread, a ratio in the hundreds.
    assert ratio < 20, (unloaded, loaded)


def test_checks_run_once_for_concurrent_callers_and_are_cached(
        home: HomeBuilder, make_client: Callable[..., TestClient], silent_database: int) -> None:
    home.add_database("warehouse", f"postgresql+psycopg://etl:pw@127.0.0.1:{silent_database}/dwh",
                      options={"connect_args": {"connect_timeout": 2}})
    csv_schedule(home)
    client = make_client(PSTT_HEALTH_CACHE_SEC="30")
    cache = client.app.state.health  # type: ignore[attr-defined]
    results: list[int] = []

    def call() -> None:
        results.append(client.get("/api/health").status_code)

    callers = [threading.Thread(target=call) for _ in range(20)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(timeout=60)
    assert results == [200] * 20
    assert cache.computed == 1
    t0 = time.perf_counter()
    body = client.get("/api/health").json()
    assert time.perf_counter() - t0 < 1.0  # from the cache, not another 2 s connect
    assert cache.computed == 1
    assert body["status"] == "degraded"  # no token: the full report
    assert any(c["name"] == "databases" for c in body["checks"])


def test_a_zero_cache_recomputes(home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home)
    client = make_client(PSTT_HEALTH_CACHE_SEC="0")
    cache = client.app.state.health  # type: ignore[attr-defined]
    client.get("/api/health")
    client.get("/api/health")
    assert cache.computed == 2


def test_unauthenticated_health_shows_only_the_status(home: HomeBuilder,
                                                      make_client: Callable[..., TestClient]) -> None:
    home.add_database("pg", "postgresql+psycopg://etl:pw@db-host.internal:6543/sales")
    csv_schedule(home)
    client = make_client(PSTT_API_TOKEN=TOKEN)
    anonymous = client.get("/api/health")
    assert anonymous.status_code == 200 and set(anonymous.json()) == {"status"}
    for secret in ("db-host.internal", "6543", "sales", "demo"):
        assert secret not in anonymous.text
    full = client.get("/api/health", headers=AUTH).json()
    assert {"status", "scheduler", "checks"} <= set(full)
