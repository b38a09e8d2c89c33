"""The plugin boundary: sink packages import only the public API; a plugin gets a frozen
``PluginEnv`` (settings, export root, formats, its own runs, its own state) and nothing else."""

from __future__ import annotations

import ast
import multiprocessing
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import pstt_core
import pstt_core.web
from pstt_core import (
    ConfigError,
    PluginEnv,
    RunInfo,
    Schedule,
    SinkContext,
    StateFile,
    StateFileError,
    Trigger,
    check_fields,
    hookimpl,
)
from pstt_core.plugin.state import FileStateBackend, PluginState, Resources
from tests.conftest import HomeBuilder, registered
from tests.core.conftest import Recorder

SRC = Path(__file__).resolve().parents[2] / "src"
PUBLIC = {"pstt_core": pstt_core, "pstt_core.web": pstt_core.web}


def _core_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import of ``pstt_core…`` in one file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "pstt_core":
            out.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names
                    if a.name.split(".")[0] == "pstt_core"]
    return out


def test_sink_packages_import_only_the_public_api() -> None:
    files = sorted(SRC.glob("pstt_sinks_*/**/*.py"))
    assert len(files) > 30
    wrong = []
    for path in files:
        for line, module, names in _core_imports(path):
            where = f"{path.relative_to(SRC)}:{line}"
            if module not in PUBLIC:
                wrong.append(f"{where} imports the internal module {module}")
                continue
            exported = set(PUBLIC[module].__all__)
            wrong += [f"{where} imports {module}.{n}, not in its __all__" for n in names
                      if n not in exported]
    assert wrong == []


def test_public_namespaces_export_what_they_list() -> None:
    for name, module in PUBLIC.items():
        assert module.__all__ == sorted(module.__all__), name
        for item in module.__all__:
            assert getattr(module, item) is not None, f"{name}.{item}"


def _run(schedule_id: str = "s") -> RunInfo:
    schedule = Schedule(id=schedule_id, name="S", connection="db", query="SELECT 1",
                        trigger=Trigger("interval", seconds=60), sharing_mode="filesystem")
    return RunInfo.new(schedule)


def test_a_sink_runs_on_an_env_without_a_facade(tmp_path: Path) -> None:
    """No home, no registry: a SinkContext built from a standalone env drives the real
    filesystem sink, and the env's state files are protected."""
    from pstt_sinks_fs.options import FilesystemOptions
    from pstt_sinks_fs.sink import FilesystemSink

    history = (tmp_path / "exports" / "scheduler_history.json").resolve()
    env = attrs.evolve(PluginEnv.standalone("filesystem", tmp_path, sharing_modes=["filesystem"]),
                       state_files=frozenset({history}))
    sink = FilesystemSink(SinkContext(FilesystemOptions(filename="out.csv"), _run(), env))
    sink.open(["a", "b"])
    sink.write([(1, "x"), (2, "y")])
    result = sink.close()
    assert result.status is None and result.fields["path"] == "out.csv"
    assert (tmp_path / "exports" / "out.csv").read_bytes() == b"a,b\r\n1,x\r\n2,y\r\n"
    with pytest.raises(ConfigError, match="PSTT state file"):
        FilesystemSink(SinkContext(FilesystemOptions(filename="scheduler_history.json"),
                                   _run(), env)).open(["a"])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        env.export_root = tmp_path  # type: ignore[misc]


def test_history_view_holds_only_the_plugins_runs(home: HomeBuilder) -> None:
    home.add_schedule(id="fs", sink_options={"filename": "x_{export_id}.csv"})
    home.add_schedule(id="rec", sharing_mode="recorder", query="SELECT 1 AS one")
    with registered(Recorder(), Recorder.name):
        pstt = home.pstt(logs=False, environ={})
    fs, rec = pstt.run("fs"), pstt.run("rec")
    history = pstt.plugin_env("filesystem").history
    total, records = history.query(limit=None)
    assert total == 1 and [r["export_id"] for r in records] == [fs.export_id]
    assert history.get(rec.export_id) is None and history.get(fs.export_id) is not None
    assert set(history.last()) == {"fs"}
    records[0]["status"] = "forged"  # a copy: the stored history is untouched
    assert pstt.history.get(fs.export_id)["status"] == "success"  # type: ignore[index]
    assert pstt.plugin_env(Recorder.name).history.query()[0] == 1


def test_env_sections_follow_a_reloaded_connections_json(home: HomeBuilder) -> None:
    """``pstt serve`` re-reads a changed connections.json: a plugin's env (made before) shows
    the entries in force, not those it was made with."""
    smtp = {"host": "127.0.0.1", "port": 2525, "security": "none",
            "from_address": "pstt@example.com", "username": "u", "password": "s3cret-smtp",
            "allow_insecure_auth": True}
    home.connections["smtp_servers"] = [{"name": "relay", **smtp}]
    pstt = home.pstt(logs=False, environ={})
    env = pstt.plugin_env("email")
    assert sorted(env.section("smtp_servers")) == ["relay"]
    home.connections["smtp_servers"].append({"name": "backup", **smtp})
    home.write()
    assert pstt.reload_config() is True
    assert sorted(env.section("smtp_servers")) == ["backup", "relay"]
    assert [e["name"] for e in env.masked_section("smtp_servers")] == ["backup", "relay"]
    assert "s3cret-smtp" not in str(env.masked_section("smtp_servers"))


def test_sink_context_pstt_is_deprecated(home: HomeBuilder) -> None:
    pstt = home.pstt(logs=False, environ={})
    ctx = pstt.sink_context(pstt.registry.sinks["filesystem"], None, _run())
    assert ctx.env is pstt.plugin_env("filesystem")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ctx.pstt is pstt
    assert "SinkContext.pstt is deprecated" in str(caught[0].message)


class Claims:
    """Two state files for one plugin, and the core's history file."""

    def __init__(self, *names: str):
        self.names = names

    @hookimpl
    def register_state_file(self, register: Callable[[StateFile], None]) -> None:
        for name in self.names:
            register(StateFile(name))


def test_a_plugin_cannot_take_another_state_file(home: HomeBuilder) -> None:
    with registered(Claims("kafka_metrics.json"), "thief"), \
            registered(Claims("mine.json", "second.json"), "greedy"), \
            registered(Claims("scheduler_history.json"), "core-thief"), \
            registered(Claims("../up.json"), "climber"):
        pstt = home.pstt(logs=False, environ={})
    problems = pstt.plugin_problems
    assert ("plugin 'thief': register_state_file: 'kafka_metrics.json' is the state file of "
            "'kafka'; ignored") in problems
    assert ("plugin 'greedy': register_state_file: a plugin has one state file, already "
            "'mine.json'; ignored") in problems
    assert ("plugin 'core-thief': register_state_file: 'scheduler_history.json' is the state "
            "file of 'the core'; ignored") in problems
    assert any(p.startswith("plugin 'climber': register_state_file: state file name '../up.json'")
               for p in problems)
    exports = home.root / "exports"
    assert pstt.plugin_env("thief").state.location == str(exports / "thief_state.json")
    assert pstt.plugin_env("greedy").state.location == str(exports / "mine.json")
    assert {exports / "kafka_metrics.json", exports / "mine.json", exports / "thief_state.json",
            exports / "schedules.json"} <= {p for p in pstt.state_files}


def _count(directory: str, times: int) -> None:
    state = PluginState("counter", FileStateBackend(Path(directory), Path(directory) / ".locks"),
                        Resources())
    for _ in range(times):
        state.update("n", lambda n: n + 1, default=0)


@pytest.mark.slow
def test_state_updates_from_several_processes_are_never_lost(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")  # not fork: this process has threads
    workers = [ctx.Process(target=_count, args=(str(tmp_path), 40)) for _ in range(2)]
    for w in workers:
        w.start()
    _count(str(tmp_path), 40)
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    state = PluginState("counter", FileStateBackend(tmp_path, tmp_path / ".locks"), Resources())
    assert state.get("n") == 120


class Client:
    def __init__(self, log: list[str]):
        self.log = log
        log.append("open")

    def close(self) -> None:
        self.log.append("close")


def test_resources_are_made_once_and_closed_by_close(home: HomeBuilder) -> None:
    log: list[str] = []
    pstt = home.pstt(logs=False, environ={})
    env = pstt.plugin_env("some-plugin")
    first = env.state.resource("client", lambda: Client(log))
    assert env.state.resource("client", lambda: Client(log)) is first
    pstt.close()
    assert log == ["open", "close"]
    assert env.state.resource("client", lambda: Client(log)) is not first  # made again
    pstt.close()
    assert log == ["open", "close", "open", "close"]


def test_env_sections_are_read_only(home: HomeBuilder) -> None:
    home.connections["smtp_servers"] = [{"name": "relay", "host": "127.0.0.1",
                                         "from_address": "p@example.com", "password": "pw-1",
                                         "username": "u"}]
    pstt = home.pstt(logs=False, environ={})
    env = pstt.plugin_env("email")
    section = env.section("smtp_servers")
    with pytest.raises(TypeError):
        section["other"] = None  # type: ignore[index]
    assert env.masked_section("smtp_servers")[0]["password"] == "********"
    assert env.format("csv").name == "csv" and "parquet" in env.format_names
    with pytest.raises(ConfigError, match="unknown format 'pdf'"):
        env.format("pdf")
    assert env.export_root == (home.root / "exports").resolve()


class Strict:
    """A plugin whose state document must hold a number under ``count``."""

    @hookimpl
    def register_state_file(self, register: Callable[[StateFile], None]) -> None:
        def validate(document: dict[str, Any], file: str) -> None:
            check_fields(document, {"count": (int,)}, file=file, path="$")

        register(StateFile("strict.json", validate=validate))


@pytest.mark.parametrize(("content", "where", "message"), [
    ('{"count": "many"}', "$.count", "must be a number, not a string"),
    ("[1, 2]", "$", "must be an object, not an array"),
    ('{"count": 1', None, "invalid JSON"),
    ("", None, "the file is empty"),
])
def test_a_damaged_plugin_state_file_is_refused_and_never_written_over(
        home: HomeBuilder, content: str, where: str | None, message: str) -> None:
    path = home.root / "exports" / "strict.json"
    with registered(Strict(), "strict"):
        pstt = home.pstt(logs=False, environ={})
    env = pstt.plugin_env("strict")
    env.state.update("count", lambda n: n + 1, default=0)
    assert env.state.read() == {"count": 1}
    path.write_text(content)
    for attempt in (env.state.read, lambda: env.state.update("count", lambda n: n + 1)):
        with pytest.raises(StateFileError, match=message) as err:
            attempt()
        assert (err.value.file, err.value.path) == (str(path), where)
    assert [str(p.file) for p in pstt.state_problems()] == [str(path)]
    with pytest.raises(StateFileError, match=message):
        pstt.start(scheduler=False)  # names the file instead of starting on it
    assert not pstt.started
    assert path.read_text() == content


def test_the_journal_and_the_locks_are_private_to_pstt(home: HomeBuilder) -> None:
    pstt = home.pstt(logs=False, environ={})
    private = {(home.root / "exports" / ".journal").resolve(), (home.root / ".locks").resolve()}
    assert pstt.plugin_env("filesystem").private_dirs == private
    assert PluginEnv.standalone("filesystem", home.root).private_dirs == private
