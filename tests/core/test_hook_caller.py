"""The one hook caller: registration order everywhere, the first registration of a name wins,
a failing hook is isolated and attributed (never fatal to ``Pstt()``), wrappers are refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from pstt_core import PluginEnv, SinkType, hookimpl
from pstt_core.cli import build_cli
from pstt_core.web import NavLink
from tests.conftest import HomeBuilder, registered
from tests.core.conftest import RecorderOptions, RecordingSink


class Hello:
    """Registers ``/hello`` answering its own name, a menu link, a sink and an observer."""

    def __init__(self, word: str, seen: list[str]):
        self.word, self.seen = word, seen

    @hookimpl
    def register_routes(self, register: Callable[[Any], None]) -> None:
        register(Route("/hello", lambda request: PlainTextResponse(self.word)))

    @hookimpl
    def register_nav_links(self, register: Callable[[Any], None]) -> None:
        register(NavLink(self.word, "/hello"))

    @hookimpl
    def register_sinks(self, register: Callable[[SinkType], None]) -> None:
        register(SinkType(name="hello", label=self.word, options=RecorderOptions,
                          factory=lambda ctx: RecordingSink(ctx, _Sink())))

    @hookimpl
    def run_finished(self, record: Any, env: PluginEnv) -> None:
        self.seen.append(f"{self.word}:{env.name}")


class _Sink:
    """The minimum a RecordingSink needs from its recorder."""

    def __init__(self) -> None:
        import threading

        self.started = threading.Event()

    def add(self, got: Any) -> None:
        pass


def test_the_first_plugin_to_register_a_name_keeps_it_everywhere(home: HomeBuilder) -> None:
    seen: list[str] = []
    home.add_schedule(id="s", sharing_mode="hello", query="SELECT 1 AS one")
    with registered(Hello("first", seen), "hello-first"), \
            registered(Hello("second", seen), "hello-second"):
        pstt = home.pstt(logs=False, environ={"PSTT_SCHEDULER_ENABLED": "false"})
        with TestClient(pstt.asgi_app(), base_url="http://localhost") as client:
            assert client.get("/hello").text == "first"
            page = client.get("/settings").text
            assert client.get("/").text.count('href="/hello"') == 1
        result = CliRunner().invoke(build_cli(), ["--home", str(home.root), "plugins"])
    assert pstt.registry.sinks["hello"].label == "first"
    problems = pstt.plugin_problems
    assert "plugin 'hello-second': route '/hello' collides with a path of plugin 'hello-first'; " \
           "ignored" in problems
    assert "plugin 'hello-second': menu link to '/hello' is already added by plugin " \
           "'hello-first'; ignored" in problems
    assert "plugin 'hello-second': sink type 'hello' is already registered by 'hello-first'; " \
           "ignored" in problems
    assert "route &#39;/hello&#39; collides" in page  # shown on /settings
    assert "problem: plugin 'hello-second': route '/hello' collides" in result.output
    assert pstt.run("s").status == "success"
    assert seen == ["first:hello-first", "second:hello-second"]  # observers: registration order


class Raising:
    """Every kind of hook raises: contributions, CLI, observers, lifecycle."""

    @hookimpl
    def register_sinks(self, register: Callable[[SinkType], None]) -> None:
        raise RuntimeError("sink registry unreachable")

    @hookimpl
    def register_routes(self, register: Callable[[Any], None]) -> None:
        raise RuntimeError("no routes today")

    @hookimpl
    def register_commands(self, cli: Any) -> None:
        raise RuntimeError("no commands today")

    @hookimpl
    def run_finished(self, record: Any) -> None:
        raise RuntimeError("observer down")

    @hookimpl
    def pstt_startup(self) -> None:
        raise RuntimeError("cannot start")

    @hookimpl
    def pstt_shutdown(self) -> None:
        raise RuntimeError("cannot stop")


def test_a_failing_hook_is_isolated_attributed_and_shown(
        home: HomeBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    home.add_schedule(id="fs", sink_options={"filename": "ok.csv"})
    with registered(Raising(), "raiser"):
        pstt = home.pstt(logs=False, environ={"PSTT_SCHEDULER_ENABLED": "false"})  # no raise
        assert "filesystem" in pstt.registry.sinks  # the others' contributions are there
        with TestClient(pstt.asgi_app(), base_url="http://localhost") as client:  # start and stop: lifecycle hooks raise
            settings = client.get("/settings").text
            api = client.get("/api/plugins").json()
        cli = build_cli(reload=True)
        warned = capsys.readouterr().err
        listed = CliRunner().invoke(cli, ["--home", str(home.root), "plugins", "--json"])
    build_cli(reload=True)
    record = pstt.run("fs")
    assert record.status == "success", record.error  # the failing observer changed nothing
    expected = ["plugin 'raiser': register_sinks failed: RuntimeError: sink registry unreachable",
                "plugin 'raiser': register_routes failed: RuntimeError: no routes today",
                "plugin 'raiser': pstt_startup failed: RuntimeError: cannot start",
                "plugin 'raiser': pstt_shutdown failed: RuntimeError: cannot stop"]
    assert set(expected) <= set(pstt.plugin_problems)
    assert set(expected[:3]) <= set(api["problems"])  # asked before the app stopped
    for problem in expected[:2]:
        assert problem.replace("'", "&#39;") in settings
        assert problem in json.loads(listed.stdout)["problems"]
    assert ("warning: plugin 'raiser': register_commands failed: RuntimeError: no commands today; "
            "its commands are not added") in warned


class Wrapper:
    @hookimpl(wrapper=True)
    def register_sinks(self, register: Callable[[SinkType], None]) -> Any:
        register(SinkType(name="wrapped", label="Wrapped", options=RecorderOptions,
                          factory=lambda ctx: RecordingSink(ctx, _Sink())))
        return (yield)


def test_hook_wrappers_are_reported_not_silently_skipped(home: HomeBuilder) -> None:
    with registered(Wrapper(), "wrapper"):
        pstt = home.pstt(logs=False, environ={})
    assert "wrapped" not in pstt.registry.sinks
    assert ("plugin 'wrapper': register_sinks is a hook wrapper; PSTT does not support wrappers "
            "(ignored)") in pstt.plugin_problems
