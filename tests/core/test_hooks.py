"""The hook contract: every hookspec is documented, implemented and exercised by a test.

``test_hookspecs_are_documented`` and ``test_every_hook_is_implemented_and_tested`` fail as
soon as a hook is added to ``pstt_core/hookspecs.py`` without a docstring that says when it is
called and documents each parameter, or without an implementation (in a test or a built-in
plugin) and a test named after it. ``HookProbe`` below implements every hook; one test per
hook proves the core calls it.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import click
import pytest
from click.testing import CliRunner

from pstt_core import (
    ConfigSection,
    FormatWriter,
    HealthCheck,
    HealthResult,
    OutputFormat,
    PluginEnv,
    Pstt,
    Setting,
    StateFile,
    hookimpl,
    hookspecs,
    register_plugin,
    unregister_plugin,
)
from pstt_core.cli import build_cli
from pstt_core.web import NavLink
from pstt_core.web.forms import facade_choices, sink_schema
from tests.conftest import HomeBuilder, registered

ROOT = Path(__file__).resolve().parents[2]
SPECS = {name: fn for name, fn in vars(hookspecs).items()
         if callable(fn) and hasattr(fn, "pstt_spec")}


def test_hookspecs_are_documented() -> None:
    assert len(SPECS) >= 13
    for name, fn in SPECS.items():
        doc = inspect.getdoc(fn) or ""
        assert re.search(r"\bcalled\b", doc, re.IGNORECASE), f"{name}: say when it is called"
        for param in inspect.signature(fn).parameters:
            assert f":param {param}:" in doc, f"{name}: document parameter {param!r}"


def test_every_hook_is_implemented_and_tested() -> None:
    implementations = [*ROOT.joinpath("tests").rglob("*.py"), ROOT / "src/pstt_core/builtin.py",
                       *ROOT.joinpath("src").glob("pstt_sinks_*/**/*.py")]
    sources = {p: p.read_text(encoding="utf-8") for p in implementations}
    tests = "\n".join(text for p, text in sources.items() if p.name.startswith("test_"))
    for name in SPECS:
        impl = re.compile(rf"@hookimpl[^\n]*\n(?:\s*@[^\n]*\n)*\s*def {name}\(")
        assert any(impl.search(text) for text in sources.values()), f"no implementation of {name}"
        assert re.search(rf"def test_\w*{name}\w*\(", tests), f"no test named after {name}"


# -- a plugin implementing every hook ----------------------------------------------------

@attrs.define
class Widget:
    name: str
    token: str = ""


class PipeWriter(FormatWriter):
    def write(self, rows: Any) -> None:
        for row in rows:
            self.fileobj.write(("|".join(str(v) for v in row) + "\n").encode())


class HookProbe:
    name = "hook-probe"

    def __init__(self, static: Path, templates: Path):
        self.calls: list[str] = []
        self.static, self.templates = static, templates
        self.finished: list[tuple[str, str]] = []
        self.stale: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def register_sinks(self, register: Callable[[Any], None]) -> None:
        from tests.core.conftest import Recorder

        self.calls.append("register_sinks")
        register(attrs.evolve(Recorder().sink_type, name="probe-sink"))

    @hookimpl
    def register_formats(self, register: Callable[[Any], None]) -> None:
        register(OutputFormat("pipe", "txt", "text/plain", PipeWriter, "pipe separated"))

    @hookimpl
    def register_settings(self, register: Callable[[Any], None]) -> None:
        register(Setting("PROBE_LEVEL", int, 3, "A probe setting", minimum=1, group="probe"))

    @hookimpl
    def register_config_sections(self, register: Callable[[Any], None]) -> None:
        register(ConfigSection("widgets", Widget, secret_fields=("token",), label="Widgets"))

    @hookimpl
    def register_state_file(self, register: Callable[[StateFile], None]) -> None:
        register(StateFile("probe_state.json", "what the probe counted"))

    @hookimpl
    def register_routes(self, register: Callable[[Any], None], env: PluginEnv) -> None:
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        register(Route("/api/probe", lambda request: JSONResponse(
            {"plugin": env.name, "export_root": str(env.export_root)})))

    @hookimpl
    def register_nav_links(self, register: Callable[[Any], None]) -> None:
        register(NavLink("Probe", "/probe", order=90))

    @hookimpl
    def register_template_dirs(self, register: Callable[[Any], None]) -> None:
        register(self.templates)

    @hookimpl
    def register_static_dirs(self, register: Callable[[str, Any], None]) -> None:
        register("probe", self.static)

    @hookimpl
    def register_health_checks(self, register: Callable[[Any], None]) -> None:
        register(HealthCheck("probe", lambda env: HealthResult(
            "degraded", f"{env.name} says so", {"widgets": len(env.section("widgets"))})))

    @hookimpl
    def register_metrics(self, register: Callable[[Any], None], env: PluginEnv) -> None:
        from prometheus_client.core import GaugeMetricFamily

        class Collector:
            def collect(self) -> Iterator[Any]:
                yield GaugeMetricFamily("probe_widgets", "widgets configured",
                                        value=len(env.section("widgets")))

        register(Collector())

    @hookimpl
    def register_commands(self, cli: click.Group, get_env: Callable[[], PluginEnv]) -> None:
        cli.add_command(click.Command("probe", callback=lambda: click.echo(
            f"probe ok: {get_env().name}, level {get_env().settings['PROBE_LEVEL']}")))
        cli.add_command(click.Command("check", callback=lambda: click.echo("hijacked")))

    @hookimpl
    def run_finished(self, record: Any, schedule: Any, env: PluginEnv) -> None:
        self.finished.append((record.export_id, schedule.id))
        raise RuntimeError("an observer that fails must not change the run")

    @hookimpl
    def schedule_stale(self, schedule: Any, stale: dict[str, Any], env: PluginEnv) -> None:
        self.stale.append((schedule.id, stale))
        raise RuntimeError("a failing observer changes nothing")

    @hookimpl
    def pstt_startup(self, env: PluginEnv) -> None:
        self.calls.append("pstt_startup")
        env.state.update("starts", lambda n: n + 1, default=0)

    @hookimpl
    def pstt_shutdown(self, env: PluginEnv) -> None:
        self.calls.append("pstt_shutdown")


@pytest.fixture
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookProbe]:
    static = tmp_path_factory.mktemp("static")
    (static / "probe.css").write_text("body{}")
    templates = tmp_path_factory.mktemp("templates")
    (templates / "probe.html").write_text("<p>{{ word }}</p>")
    with registered(HookProbe(static, templates), HookProbe.name) as plugin:
        yield plugin


@pytest.fixture
def probed(home: HomeBuilder, probe: HookProbe) -> Pstt:
    home.connections["widgets"] = [{"name": "w1", "token": "${WIDGET_TOKEN}"}]
    return home.pstt(logs=False, environ={"WIDGET_TOKEN": "tok-123456", "PROBE_LEVEL": "7"})


def test_hook_register_sinks(probed: Pstt, probe: HookProbe) -> None:
    assert probe.calls.count("register_sinks") == 1
    assert probed.registry.plugin_of("sink type", "probe-sink") == "hook-probe"


def test_hook_register_formats(home: HomeBuilder, probe: HookProbe) -> None:
    home.add_schedule(id="pipe", query="SELECT id, status FROM orders WHERE id <= 2",
                      sink_options={"format": "pipe", "filename": "out.txt", "header": False})
    pstt = home.pstt(logs=False, environ={})
    record = pstt.run("pipe")
    assert record.status == "success", record.error
    assert (home.root / "exports" / "out.txt").read_text().splitlines()[0].startswith("1|")
    # the plugin's format is offered by every sink's format drop-down
    for mode, field in (("filesystem", "format"), ("email", "attachment_format")):
        schema = sink_schema(pstt.registry.sinks[mode], facade_choices(pstt))
        options = {f["name"]: f for f in schema["options"]}
        assert "pipe" in options[field]["choices"] and options[field]["widget"] == "select"
    from starlette.testclient import TestClient

    page = TestClient(pstt.asgi_app(), base_url="http://localhost").get("/scheduler").text  # the schedule form itself
    for select_id in ("opt-filesystem-format", "opt-email-attachment_format"):
        select = page[page.index(f'id="{select_id}"'):]
        select = select[:select.index("</select>")]
        assert '<option value="pipe">' in select and '<option value="csv" selected>' in select


def test_hook_register_settings(probed: Pstt) -> None:
    assert probed.settings["PROBE_LEVEL"] == 7
    assert {"name": "PROBE_LEVEL", "group": "probe"}.items() <= next(
        r for r in probed.settings.masked() if r["name"] == "PROBE_LEVEL").items()


def test_hook_register_config_sections(probed: Pstt, home: HomeBuilder) -> None:
    assert probed.config.section("widgets")["w1"].token == "tok-123456"
    assert "tok-123456" in probed.config.secrets
    del home.connections["widgets"]
    assert home.pstt(logs=False, environ={}).config.section("widgets") == {}
    home.connections["widgets"] = [{"name": "w1", "colour": "red"}]
    with pytest.raises(Exception, match=r"\$\.widgets\[0\]: extra fields found \(colour\); known fields: name, token"):
        home.pstt(logs=False, environ={})


def test_hook_register_state_file(probed: Pstt, home: HomeBuilder) -> None:
    env = probed.plugin_env(HookProbe.name)
    assert env.state.location == str(home.root / "exports" / "probe_state.json")
    assert env.state.update("count", lambda n: n + 1, default=0) == 1
    assert json.loads((home.root / "exports" / "probe_state.json").read_text()) == {"count": 1}
    assert (home.root / "exports" / "probe_state.json").resolve() in env.state_files


def test_hook_register_routes(probed: Pstt) -> None:
    from starlette.testclient import TestClient

    with TestClient(probed.asgi_app(), base_url="http://localhost") as client:
        body = client.get("/api/probe").json()
    assert body == {"plugin": "hook-probe", "export_root": str(probed.export_root)}


def test_hook_register_nav_links(probed: Pstt) -> None:
    assert NavLink("Probe", "/probe", order=90) in probed.asgi_app().state.nav


def test_hook_register_template_dirs(probed: Pstt) -> None:
    templates = probed.asgi_app().state.templates
    assert templates.get_template("probe.html").render(word="hi") == "<p>hi</p>"


def test_hook_register_static_dirs(probed: Pstt, probe: HookProbe) -> None:
    mounts = {getattr(r, "path", None): r for r in probed.asgi_app().routes}
    assert Path(mounts["/static/probe"].app.directory) == probe.static  # type: ignore[union-attr]


def test_hook_register_health_checks(probed: Pstt) -> None:
    health = probed.health()
    probe = next(c for c in health["checks"] if c["name"] == "probe")
    assert probe["status"] == "degraded" and probe["detail"] == "hook-probe says so"
    assert probe["data"] == {"widgets": 1}
    assert health["status"] in ("degraded", "unhealthy")


def test_hook_register_metrics(probed: Pstt) -> None:
    from prometheus_client import generate_latest

    registry = getattr(probed.asgi_app().state, "metrics", None)
    if registry is None:
        pytest.skip("this build of the web app has no metrics registry yet")
    assert b"probe_widgets 1.0" in generate_latest(registry)


def test_hook_register_commands(probe: HookProbe, home: HomeBuilder,
                                capsys: pytest.CaptureFixture[str]) -> None:
    group = build_cli(reload=True)
    assert ("plugin 'hook-probe' command 'check' clashes with an existing command; ignored"
            in capsys.readouterr().err)
    home.write()
    result = CliRunner().invoke(group, ["--home", str(home.root), "probe"],
                                env={"PROBE_LEVEL": "5"})
    assert result.exit_code == 0, result.output
    assert result.stdout == "probe ok: hook-probe, level 5\n"
    assert (group.commands["check"].help or "").startswith("Exit 0 when")  # core command kept
    unregister_plugin(probe)
    try:
        assert "probe" not in build_cli(reload=True).commands
    finally:
        register_plugin(probe, HookProbe.name)


def test_hook_run_finished(home: HomeBuilder, probe: HookProbe) -> None:
    home.add_schedule(id="obs", query="SELECT 1 AS one", sharing_mode="probe-sink")
    pstt = home.pstt(logs=False, environ={})
    record = pstt.run("obs")
    assert record.status == "success"  # the observer raised; the run is unaffected
    assert probe.finished == [(record.export_id, "obs")]
    assert pstt.history.get(record.export_id)["status"] == "success"  # type: ignore[index]


def test_hook_schedule_stale(home: HomeBuilder, probe: HookProbe) -> None:
    from pstt_core import staleness

    pstt = home.pstt(logs=False, environ={})
    pstt.create_schedule({"id": "old", "name": "Old", "connection": "demo",
                          "query": "SELECT * FROM no_such_table", "sharing_mode": "probe-sink",
                          "trigger": {"type": "interval", "seconds": 60},
                          "max_staleness_sec": 0.5})
    assert staleness.check(pstt) == []  # created just now: not stale yet
    time.sleep(0.6)
    assert staleness.check(pstt) == ["old"]
    assert staleness.check(pstt) == []  # once per stale period
    [(sid, info)] = probe.stale
    assert sid == "old" and info["last_success_at"] is None and info["max_staleness_sec"] == 0.5
    assert "old" in pstt.plugin_env("pstt_core").state.get("stale")


def test_hook_pstt_startup_and_pstt_shutdown(probed: Pstt, probe: HookProbe) -> None:
    probed.start(scheduler=False)
    assert probe.calls[-1] == "pstt_startup"
    assert probed.plugin_env(HookProbe.name).state.get("starts") == 1
    probed.stop()
    assert probe.calls[-1] == "pstt_shutdown"
