"""Plugin discovery and the one hook caller: blocked, broken, clashing and failing plugins,
registration order, and one plugin manager per facade."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pstt_core import Pstt, SinkType, hookimpl
from pstt_core.cli import build_cli
from pstt_core.plugins import rescan_entry_points
from tests.conftest import HomeBuilder, registered
from tests.core.conftest import Recorder, RecorderOptions


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Installed plugins are looked up once per process: look again (a test adds one)."""
    rescan_entry_points()
    yield
    rescan_entry_points()


def plugin_states(pstt: Pstt) -> dict[str, str]:
    return {p.name: "blocked" if p.blocked else (p.error or "loaded") for p in pstt.plugins()}


def test_disabled_plugin_from_environment(home: HomeBuilder, fresh_plugins: None) -> None:
    home.add_schedule(id="fs", sink_options={"filename": "x.csv"})
    pstt = home.pstt(logs=False, environ={"PSTT_DISABLED_PLUGINS": "filesystem, nonexistent"})
    assert "filesystem" not in pstt.registry.sinks
    assert plugin_states(pstt)["filesystem"] == "blocked"
    _valid, invalid = pstt.schedules.load()
    assert "unknown sharing mode 'filesystem'" in str(invalid["fs"])


def test_a_plugin_disabled_earlier_comes_back(home: HomeBuilder, fresh_plugins: None) -> None:
    home.write()
    blocked = Pstt(home.root, logs=False, environ={"PSTT_DISABLED_PLUGINS": "filesystem"})
    assert "filesystem" not in blocked.registry.sinks
    again = Pstt(home.root, logs=False, environ={})
    assert "filesystem" in again.registry.sinks
    assert plugin_states(again)["filesystem"] == "loaded"


def test_disabled_plugin_from_dotenv_and_cli_listing(home: HomeBuilder, fresh_plugins: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    home.write()
    (home.root / ".env").write_text("PSTT_DISABLED_PLUGINS=filesystem\n")
    pstt = Pstt(home.root, logs=False)
    assert "filesystem" not in pstt.registry.sinks
    result = CliRunner().invoke(build_cli(), ["--home", str(home.root), "plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    blocked = {p["name"] for p in data["plugins"] if p["blocked"]}
    assert "filesystem" in blocked
    assert "filesystem" not in {s["name"] for s in data["sinks"]}
    text = CliRunner().invoke(build_cli(), ["--home", str(home.root), "plugins"]).output
    assert any(line.startswith("filesystem") and line.rstrip().endswith("blocked")
               for line in text.splitlines())


def make_distribution(root: Path, dist: str, module: str, source: str, entry: str) -> None:
    """An installed distribution on ``root``: a module plus dist-info with an entry point."""
    (root / f"{module}.py").write_text(source)
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[pstt.plugins]\n{entry} = {module}\n")


def test_plugin_whose_import_raises_is_reported(home: HomeBuilder, tmp_path_factory: pytest.TempPathFactory,
                                                monkeypatch: pytest.MonkeyPatch,
                                                fresh_plugins: None) -> None:
    site = tmp_path_factory.mktemp("site")
    make_distribution(site, "pstt_broken_plugin", "pstt_broken_plugin_mod",
                      "raise RuntimeError('cannot reach the license server')\n", "broken")
    monkeypatch.syspath_prepend(str(site))
    home.add_schedule(id="fs", sink_options={"filename": "ok.csv"})
    pstt = home.pstt(logs=False, environ={})
    assert plugin_states(pstt)["broken"] == "RuntimeError: cannot reach the license server"
    assert "filesystem" in pstt.registry.sinks
    assert pstt.run("fs").status == "success"
    result = CliRunner().invoke(build_cli(), ["--home", str(home.root), "plugins"])
    assert "error: RuntimeError: cannot reach the license server" in result.output


class Clasher:
    """Registers a sink named like the built-in one, and a thing that is not a SinkType."""

    @hookimpl
    def register_sinks(self, register: Callable[[Any], None]) -> None:
        register(SinkType(name="filesystem", label="Impostor", options=RecorderOptions,
                          factory=lambda ctx: None))  # type: ignore[arg-type,return-value]
        register({"name": "not-a-sink-type"})


def test_duplicate_sink_names_are_reported(home: HomeBuilder) -> None:
    with registered(Clasher(), "clasher"):
        pstt = home.pstt(logs=False, environ={})
        assert pstt.registry.sinks["filesystem"].label == "File (filesystem)"  # first one wins
        assert pstt.registry.plugin_of("sink type", "filesystem") == "filesystem"
        assert ("plugin 'clasher': sink type 'filesystem' is already registered by "
                "'filesystem'; ignored") in pstt.registry.problems
        assert "plugin 'clasher': register_sinks got dict, expected SinkType" in pstt.registry.problems
        result = CliRunner().invoke(build_cli(), ["--home", str(home.root), "check", "--offline"])
        assert result.exit_code == 1
        assert "plugin problem: plugin 'clasher': sink type 'filesystem' is already" in result.output
    assert "clasher" not in {p.name for p in Pstt(home.root, logs=False, environ={}).plugins()}


def test_inline_plugin_registration_is_reversible(home: HomeBuilder) -> None:
    from tests.core.conftest import Recorder

    with registered(Recorder(), Recorder.name):
        pstt = home.pstt(logs=False, environ={})
        assert "recorder" in pstt.registry.sinks
        info = {p.name: p for p in pstt.plugins()}[Recorder.name]
        assert info.hooks == ["register_sinks", "run_finished"]
    assert "recorder" not in Pstt(home.root, logs=False, environ={}).registry.sinks


def test_two_facades_with_different_disabled_plugins_do_not_disturb_each_other(
        home: HomeBuilder) -> None:
    home.add_schedule(id="rec", sharing_mode="recorder", query="SELECT 1 AS one")
    home.write()
    with registered(Recorder(), Recorder.name) as recorder:
        first = Pstt(home.root, logs=False, environ={"PSTT_DISABLED_PLUGINS": "email"})
        second = Pstt(home.root, logs=False,
                      environ={"PSTT_DISABLED_PLUGINS": f"{Recorder.name},filesystem"})
    assert {"filesystem", "recorder"} <= set(first.registry.sinks)
    assert "email" not in first.registry.sinks
    assert "email" in second.registry.sinks
    assert not {"filesystem", "recorder"} & set(second.registry.sinks)
    # the second facade (and leaving the block) took nothing from the first one's plugins:
    record = first.run("rec")
    assert record.status == "success", record.error
    assert [r.export_id for r in recorder.finished] == [record.export_id]  # its observer too
    assert plugin_states(first)["email"] == "blocked"
    assert plugin_states(second)[Recorder.name] == "blocked"
