"""App assembly: mounting inside another app, plugin contributions, collisions, OpenAPI,
metrics, pages."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.core import GaugeMetricFamily
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from pstt_core import ConfigError, hookimpl
from pstt_core.logs import teardown_logging
from pstt_core.web.serve import check_bind, is_loopback
from tests.conftest import HomeBuilder, csrf, logs_text, registered
from tests.web.conftest import csv_schedule
from tests.web.plugin_fixture import hook_plugin


async def _plain(request: Any) -> PlainTextResponse:
    return PlainTextResponse("plugin")


def test_mounted_inside_another_app(home: HomeBuilder) -> None:
    csv_schedule(home)
    pstt = home.pstt(environ={"PSTT_SCHEDULER_ENABLED": "false"})
    inner = pstt.asgi_app()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with inner.router.lifespan_context(inner):  # starts and stops the facade
            yield

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("outer app")

    outer = Starlette(routes=[Route("/", hello), Mount("/pstt", app=inner)], lifespan=lifespan)
    with TestClient(outer, base_url="http://localhost") as client:
        assert pstt.started
        assert client.get("/").text == "outer app"
        assert client.get("/pstt/api/schedules").json()["schedules"][0]["id"] == "orders"
        rec = client.post("/pstt/api/schedules/orders/run").json()
        assert rec["status"] == "success"
        page = client.get("/pstt/scheduler").text
        assert 'href="/pstt/static/pstt/pstt.css"' in page
        assert 'href="/pstt/scheduler/orders"' in page
        assert '<meta name="pstt-root" content="/pstt">' in page
        assert client.get("/pstt/static/pstt/pstt.js").status_code == 200
        assert client.post("/pstt/api/schedules/orders/disable", headers=csrf(client, "/pstt/")).status_code == 200
        assert client.get("/pstt/api/openapi.json").json()["servers"] == [{"url": "/pstt"}]
    assert not pstt.started
    teardown_logging(home.root / "logs")


def test_plugin_routes_nav_and_templates(home: HomeBuilder, tmp_path: Path,
                                         make_client: Callable[..., TestClient]) -> None:
    with hook_plugin(tmp_path):
        client = make_client()
        page = client.get("/hook")
        assert page.status_code == 200 and "hello from the hook plugin" in page.text
        for core_page in ("/", "/scheduler", "/settings", "/logs", "/history"):
            assert 'href="/hook">Hook</a>' in client.get(core_page).text
        assert client.get("/api/hook/status").json()["ok"] is True
        spec = client.get("/api/openapi.json").json()
        assert spec["paths"]["/api/hook/status"]["get"]["summary"] == "Hook plugin status"
        assert client.get("/api/plugins").json()["problems"] == []


def test_colliding_plugin_routes_are_refused_and_reported(home: HomeBuilder, tmp_path: Path,
                                                          make_client: Callable[..., TestClient]) -> None:
    extra = [Route("/api/schedules", _plain), Route("/scheduler/special", _plain),
             Mount("/api", routes=[]), Mount("/static/x", routes=[]), Route("/hook", _plain),
             "not a route"]
    with hook_plugin(tmp_path, extra_routes=extra):
        client = make_client()
        problems = client.get("/api/plugins").json()["problems"]
        assert len(problems) == 6, problems
        assert all("hook-test" in p for p in problems)
        assert any("'/api/schedules' collides with a path of the core" in p for p in problems)
        assert any("'/hook' collides with a path of plugin 'hook-test'" in p for p in problems)
        assert any("expected a Starlette Route" in p for p in problems)
        # the core path still answers with the core handler, the plugin's first /hook wins
        assert "schedules" in client.get("/api/schedules").json()
        assert "hello from the hook plugin" in client.get("/hook").text
        assert "hook-test" in client.get("/settings").text


class BrokenPlugin:
    @hookimpl
    def register_routes(self, register: Callable[[Any], None], pstt: Any) -> None:
        raise RuntimeError("boom")

    @hookimpl
    def register_metrics(self, register: Callable[[Any], None], pstt: Any) -> None:
        class Queue:
            def collect(self) -> Any:
                gauge = GaugeMetricFamily("pstt_test_queue_depth", "Queue depth of the test plugin")
                gauge.add_metric([], 7)
                yield gauge
        register(Queue())


def test_a_broken_plugin_hook_does_not_stop_the_app(home: HomeBuilder,
                                                    make_client: Callable[..., TestClient]) -> None:
    with registered(BrokenPlugin(), "broken-test"):
        client = make_client()
        problems = client.get("/api/plugins").json()["problems"]
        assert any("broken-test" in p and "boom" in p for p in problems)
        assert "pstt_test_queue_depth 7.0" in client.get("/metrics").text


def test_metrics_per_app_registry(home: HomeBuilder, make_client: Callable[..., TestClient]) -> None:
    csv_schedule(home, "m1")
    csv_schedule(home, "m2", query="SELECT * FROM missing")
    first = make_client()
    second = make_client()  # a second app on the same home: its own registry, no clash
    first.post("/api/schedules/m1/run")
    first.post("/api/schedules/m1/run")
    first.post("/api/schedules/m2/run")
    text = first.get("/metrics").text
    assert first.get("/metrics").headers["content-type"].startswith("text/plain")
    assert 'pstt_schedule_runs_total{schedule="m1",status="success"} 2.0' in text
    assert 'pstt_schedule_runs_total{schedule="m2",status="failed"} 1.0' in text
    assert 'pstt_schedule_rows_total{schedule="m1"} 1000.0' in text
    assert 'pstt_rows_exported_total{sharing_mode="filesystem"} 1000.0' in text
    assert 'pstt_runs_total{sharing_mode="filesystem",status="failed"} 1.0' in text
    assert 'pstt_run_duration_seconds_count{sharing_mode="filesystem"} 3.0' in text
    # the second app reads the same persisted counters but saw no live runs
    other = second.get("/metrics").text
    assert 'pstt_schedule_runs_total{schedule="m1",status="success"} 2.0' in other


def test_every_page_renders_with_the_menu(client: TestClient) -> None:
    client.post("/api/schedules/orders/run")
    for url in ("/", "/scheduler", "/scheduler/orders", "/history", "/history?status=success",
                "/settings", "/logs", "/logs?level=error&search=x", "/login"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert '<nav class="menu">' in resp.text
        assert re.search(r'href="/scheduler"( class="active")?>Scheduler</a>', resp.text), url
        assert "http://" not in resp.text.split("<main>")[0]  # no external assets in the head
    missing = client.get("/scheduler/nope")
    assert missing.status_code == 404 and "no schedule with id" in missing.text
    assert '<nav class="menu">' in missing.text
    assert client.get("/history?status=bogus").status_code == 200  # shown as a message
    assert client.get("/static/pstt/pstt.css").status_code == 200


def test_openapi_describes_every_core_api_route(client: TestClient) -> None:
    from pstt_core.web.app import core_routes

    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for route in core_routes():
        path = getattr(route, "path", "")
        if path.startswith("/api/") and path != "/api/openapi.json":
            for method in route.methods - {"HEAD"}:  # type: ignore[attr-defined]
                assert method.lower() in spec["paths"][path], (method, path)


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.com") and not is_loopback("::")
    check_bind("0.0.0.0", "a-token")  # allowed with a token
    check_bind("127.0.0.1", "")
    with pytest.raises(ConfigError, match="PSTT_API_TOKEN"):
        check_bind("::", "")


class StaticPlugin:
    def __init__(self, directory: Path):
        self.directory = directory

    @hookimpl
    def register_static_dirs(self, register: Callable[..., None]) -> None:
        register("hookstatic", self.directory)
        register("pstt", self.directory)              # the core's name
        register("hookstatic", self.directory)        # twice
        register("bad/name", self.directory)
        register("missing", self.directory / "nope")

    @hookimpl
    def register_nav_links(self, register: Callable[[Any], None]) -> None:
        register({"label": "not a NavLink"})

    @hookimpl
    def register_template_dirs(self, register: Callable[[Any], None]) -> None:
        register(self.directory / "no-templates-here")


def test_plugin_static_dirs_and_bad_contributions(home: HomeBuilder, tmp_path: Path,
                                                  make_client: Callable[..., TestClient]) -> None:
    (tmp_path / "app.js").write_text("console.log('hook');")
    with registered(StaticPlugin(tmp_path), "static-test"):
        client = make_client()
        assert client.get("/static/hookstatic/app.js").text == "console.log('hook');"
        assert "nav.menu" in client.get("/static/pstt/pstt.css").text  # still the core's
        problems = [p for p in client.get("/api/plugins").json()["problems"] if "static-test" in p]
        assert len(problems) == 6, problems
        assert any("'pstt' is taken by the core" in p for p in problems)
        assert any("expected pstt_core.web.NavLink" in p for p in problems)
        assert any("template directory" in p for p in problems)
        assert client.get("/").status_code == 200


def test_history_page_filters(client: TestClient) -> None:
    export_id = client.post("/api/schedules/orders/run").json()["export_id"]
    page = client.get("/history?status=success&since=2000-01-01T00:00").text
    assert f'data-export-id="{export_id}"' in page and "1 run(s)" in page
    assert 'value="2000-01-01T00:00"' in page
    assert "0 run(s)" in client.get("/history?since=2999-01-01T00:00").text
    assert "0 run(s)" in client.get("/history?status=failed").text
    bad = client.get("/history?since=soon")
    assert bad.status_code == 200 and "ISO 8601" in bad.text


class LoggingRoutePlugin:
    @hookimpl
    def register_routes(self, register: Callable[[Any], None], pstt: Any) -> None:
        async def note(request: Any) -> PlainTextResponse:
            logging.getLogger("pstt.test").warning("plugin route note %s", request.query_params["n"])
            return PlainTextResponse("noted")

        async def crash(request: Any) -> PlainTextResponse:
            raise RuntimeError(f"crash {request.query_params['n']}")
        register(Route("/note", note))
        register(Route("/crash", crash))


def test_two_homes_mounted_in_one_app_log_to_their_own_files(tmp_path: Path) -> None:
    homes = {name: HomeBuilder(tmp_path / name) for name in ("east", "west")}
    try:
        with registered(LoggingRoutePlugin(), "logging-route-test"):
            facades = {name: h.pstt(environ={"PSTT_SCHEDULER_ENABLED": "false"})
                       for name, h in homes.items()}
            outer = Starlette(routes=[Mount(f"/{name}", app=p.asgi_app()) for name, p in facades.items()])
            with TestClient(outer, raise_server_exceptions=False, base_url="http://localhost") as client:
                assert client.get("/east/note?n=E1").text == "noted"
                assert client.get("/west/note?n=W1").text == "noted"
                assert client.get("/east/crash?n=E2").status_code == 500
                assert client.get("/west/crash?n=W2").status_code == 500
        logs = {name: logs_text(h.root) for name, h in homes.items()}
        assert "note E1" in logs["east"] and "note E1" not in logs["west"]
        assert "note W1" in logs["west"] and "note W1" not in logs["east"]
        assert "crash E2" in logs["east"] and "crash E2" not in logs["west"]
        assert "crash W2" in logs["west"] and "crash W2" not in logs["east"]
        for p in facades.values():
            p.close()
    finally:
        for h in homes.values():
            teardown_logging(h.root / "logs")


def test_an_interrupted_run_on_the_pages_api_and_metrics(client: TestClient) -> None:
    pstt = client.app.state.pstt  # type: ignore[attr-defined]
    pstt.journal.begin(pstt.runner.prepare("orders"))  # a process that died during this run
    [record] = pstt.recover_runs()
    row = f'data-export-id="{record.export_id}"'
    page = client.get("/history?status=interrupted").text
    assert row in page and "1 run(s)" in page and 'class="badge badge-interrupted"' in page
    assert "process ended during the run" in page
    assert row in client.get("/").text
    runs = client.get("/api/history", params={"status": "interrupted"}).json()["runs"]
    assert [r["export_id"] for r in runs] == [record.export_id]
    assert 'pstt_schedule_runs_total{schedule="orders",status="interrupted"} 1.0' in \
        client.get("/metrics").text
