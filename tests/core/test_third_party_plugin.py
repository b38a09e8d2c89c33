"""A real third-party plugin distribution, built and installed here, found via ``pstt.plugins``.

``tests/fixtures/pstt-example-plugin`` is the example of docs/PLUGINS.md. It is installed with
pip into a private target directory (offline: no index, no build isolation), put on the path,
and must then be discovered exactly like the built-in sinks: its sink type, its setting and
its CLI command.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pstt_core import ConfigError
from pstt_core.plugins import rescan_entry_points
from pstt_core.web.forms import sink_schema
from tests.conftest import HomeBuilder

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pstt-example-plugin"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--quiet", "--target", str(target), str(FIXTURE)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "pstt_example_plugin" / "__init__.py").is_file()
    assert list(target.glob("pstt_example_plugin-0.1.0.dist-info/entry_points.txt"))
    return target


@pytest.fixture
def on_path(installed: Path) -> Iterator[Path]:
    sys.path.insert(0, str(installed))
    importlib.invalidate_caches()
    rescan_entry_points()
    try:
        yield installed
    finally:
        sys.path.remove(str(installed))
        sys.modules.pop("pstt_example_plugin", None)
        importlib.invalidate_caches()
        rescan_entry_points()


def test_installed_plugin_is_discovered_and_runs(home: HomeBuilder, on_path: Path) -> None:
    home.add_schedule(id="to-json", query="SELECT id, amount, note FROM orders WHERE id <= 3",
                      sharing_mode="jsonfile",
                      sink_options={"filename": "orders.json", "include_metadata": True})
    pstt = home.pstt(logs=False, environ={"EXAMPLE_GREETING": "ciao"})
    assert pstt.registry.plugin_of("sink type", "jsonfile") == "jsonfile"
    plugins = {p.name: p for p in pstt.plugins()}
    assert plugins["jsonfile"].version == "0.1.0"
    assert {"register_sinks", "register_settings", "register_commands"} <= set(plugins["jsonfile"].hooks)
    assert pstt.settings["EXAMPLE_GREETING"] == "ciao"
    schema = {f["name"]: f for f in sink_schema(pstt.registry.sinks["jsonfile"])["options"]}
    assert schema["filename"]["required"] and schema["filename"]["label"] == "File name"
    assert schema["indent"]["widget"] == "number" and schema["include_metadata"]["widget"] == "checkbox"

    record = pstt.run("to-json")
    assert record.status == "success", record.error
    assert record.extra["path"] == "orders.json"
    doc = json.loads((home.root / "exports" / "orders.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["export_id"] == record.export_id
    assert [r["id"] for r in doc["rows"]] == [1, 2, 3]
    assert set(doc["rows"][0]) == {"id", "amount", "note"}


def test_installed_plugin_validates_its_options(home: HomeBuilder, on_path: Path) -> None:
    home.add_schedule(id="escape", sharing_mode="jsonfile", sink_options={"filename": "../x.json"})
    _valid, invalid = home.pstt(logs=False, environ={}).schedules.load()
    assert str(invalid["escape"]) == (f"{home.root / 'exports' / 'schedules.json'} at "
                                      "$.schedules[0].sink_options.filename: must be a relative "
                                      "file name without '..'")


def test_installed_plugin_cannot_overwrite_state_files(home: HomeBuilder, on_path: Path) -> None:
    home.connections["kafka_connections"] = [{"name": "k", "bootstrap_servers": ["127.0.0.1:1"]}]
    for i, name in enumerate(("scheduler_history.json", "schedules.json", "kafka_metrics.json",
                              "./scheduler_metrics.json")):
        home.add_schedule(id=f"s{i}", sharing_mode="jsonfile", sink_options={"filename": name})
    home.add_schedule(id="fine", sharing_mode="jsonfile", sink_options={"filename": "fine.json"})
    pstt = home.pstt(logs=False, environ={})
    valid, invalid = pstt.schedules.load()
    assert set(valid) == {"fine"}
    for i in range(4):
        assert str(invalid[f"s{i}"]).endswith(
            f"$.schedules[{i}].sink_options.filename: is a PSTT state file; choose another name")
    # a link created after the schedule was saved is refused before the run starts
    (home.root / "exports" / "fine.json").symlink_to(home.root / "exports" / "schedules.json")
    with pytest.raises(ConfigError, match="is a PSTT state file"):
        pstt.run("fine")
    assert json.loads((home.root / "exports" / "schedules.json").read_text())["schedules"]


def test_installed_plugin_keeps_out_of_the_run_journal(home: HomeBuilder, on_path: Path) -> None:
    # a JSON file there would be read as a run record and merged into the history
    home.add_schedule(id="journal", sharing_mode="jsonfile",
                      sink_options={"filename": ".journal/x.json"})
    _valid, invalid = home.pstt(logs=False, environ={}).schedules.load()
    assert str(invalid["journal"]).endswith("$.schedules[0].sink_options.filename: is inside a "
                                            "directory PSTT keeps for its own records")


def test_installed_plugin_command_in_a_fresh_process(home: HomeBuilder, installed: Path) -> None:
    home.add_schedule(id="to-json", sharing_mode="jsonfile", sink_options={"filename": "o.json"})
    home.write()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(SRC)]),
           "EXAMPLE_GREETING": "hallo"}
    env.pop("PSTT_DISABLED_PLUGINS", None)

    def pstt(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from pstt_core.cli import main; main()",
                               "--home", str(home.root), *args],
                              capture_output=True, text=True, env=env, timeout=120)

    helped = pstt("--help")
    assert helped.returncode == 0 and "example-hello" in helped.stdout
    hello = pstt("example-hello")
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.strip() == "hallo from pstt-example-plugin; jsonfile schedules: 1"
    ran = pstt("run", "to-json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads((home.root / "exports" / "o.json").read_text())[0]["id"] == 1
    env["PSTT_DISABLED_PLUGINS"] = "jsonfile"
    blocked = pstt("plugins", "--json")
    data = json.loads(blocked.stdout)
    assert "jsonfile" in {p["name"] for p in data["plugins"] if p["blocked"]}
    assert "example-hello" not in pstt("--help").stdout
    del env["PSTT_DISABLED_PLUGINS"]
    (home.root / ".env").write_text("PSTT_DISABLED_PLUGINS=jsonfile\n")
    assert "example-hello" not in pstt("--help").stdout  # .env is read before commands are added
    assert pstt("example-hello").returncode == 2


def test_docs_show_the_installed_example_verbatim() -> None:
    docs = (SRC.parent / "docs" / "PLUGINS.md").read_text(encoding="utf-8")
    for name in ("pyproject.toml", "src/pstt_example_plugin/__init__.py"):
        assert (FIXTURE / name).read_text(encoding="utf-8") in docs, name


def test_docs_testing_example_runs(tmp_path: Path, on_path: Path) -> None:
    docs = (SRC.parent / "docs" / "PLUGINS.md").read_text(encoding="utf-8")
    section = docs.split("## Testing a plugin", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "PLUGINS.md", "exec"), namespace)
    namespace["test_jsonfile_sink"](tmp_path)  # type: ignore[operator]
