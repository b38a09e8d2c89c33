"""The output directory stays inside the export root: at save time and at run time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pstt_core import ConfigError
from tests.conftest import HomeBuilder
from tests.sinks_fs.conftest import FsHome


@pytest.mark.parametrize(("directory", "message"), [
    ("../outside", "contains '..', which escapes"),
    ("a/../../outside", "contains '..', which escapes"),
    ("a/../b", "contains '..', which escapes"),
    ("/tmp", "must be relative to the export root"),
])
def test_escaping_directories_are_refused_at_save(fs: FsHome, directory: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        fs.schedule(directory=directory, filename="x.csv")
    assert err.value.path == "$.sink_options.directory"


def test_symlink_pointing_outside_is_refused_at_save(fs: FsHome, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (fs.exports / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="escapes the export root") as err:
        fs.schedule(directory="link/reports", filename="x.csv")
    assert err.value.path == "$.sink_options.directory"


def test_symlink_created_after_save_is_refused_at_run_time(fs: FsHome, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    fs.schedule(directory="daily", filename="x.csv")
    (fs.exports / "daily").symlink_to(outside, target_is_directory=True)
    # The schedule is checked again when it is loaded for the run.
    with pytest.raises(ConfigError, match="escapes the export root") as err:
        fs.run()
    assert err.value.path == "$.schedules[0].sink_options.directory"
    assert list(outside.iterdir()) == []


def test_sink_checks_again_when_it_opens_the_file(fs: FsHome, tmp_path_factory: pytest.TempPathFactory) -> None:
    # The link appears after the schedule was loaded and validated for this run.
    outside = tmp_path_factory.mktemp("outside")
    fs.schedule(directory="daily", filename="x.csv")
    run = fs.pstt.runner.prepare("fs")
    (fs.exports / "daily").symlink_to(outside, target_is_directory=True)
    record = fs.pstt.runner.run(run)
    assert record.status == "failed"
    assert "escapes the export root" in (record.error or "")
    assert list(outside.iterdir()) == []
    assert fs.pstt.history.get(record.export_id) is not None


def test_symlink_inside_the_root_is_fine(fs: FsHome) -> None:
    (fs.exports / "real").mkdir()
    (fs.exports / "alias").symlink_to(fs.exports / "real", target_is_directory=True)
    fs.schedule(directory="alias", filename="x.csv")
    assert fs.run().status == "success"
    assert (fs.exports / "real" / "x.csv").is_file()


def test_subdirectories_are_created(fs: FsHome) -> None:
    fs.schedule(directory="finance/2026/q1", filename="x.csv")
    record = fs.run()
    assert record.extra["path"] == "finance/2026/q1/x.csv"
    assert (fs.exports / "finance/2026/q1/x.csv").is_file()


@pytest.mark.parametrize("relative", [False, True])
def test_export_root_setting(home: HomeBuilder, tmp_path_factory: pytest.TempPathFactory,
                             relative: bool) -> None:
    shared = home.root / "shared" if relative else tmp_path_factory.mktemp("shared")
    fs = FsHome(home, environ={"PSTT_EXPORT_ROOT": "shared" if relative else str(shared)})
    fs.schedule(directory="team", filename="x.csv")
    record = fs.run()
    assert record.status == "success", record.error
    assert record.extra["path"] == "team/x.csv"
    assert (shared / "team" / "x.csv").is_file()
    assert not (fs.exports / "team").exists()
    with pytest.raises(ConfigError, match="contains '..', which escapes"):
        fs.schedule("esc", directory="../exports", filename="y.csv")


def test_export_root_from_dotenv(home: HomeBuilder) -> None:
    (home.root / ".env").write_text("PSTT_EXPORT_ROOT=out\n", encoding="utf-8")
    fs = FsHome(home)
    fs.schedule(filename="x.csv")
    assert fs.run().status == "success"
    assert (home.root / "out" / "x.csv").is_file()
    shutil.rmtree(home.root / "out")


def test_state_files_cannot_be_overwritten(fs: FsHome) -> None:
    with pytest.raises(ConfigError, match="PSTT state file"):
        fs.schedule(format="jsonl", filename="scheduler_history.json", overwrite=True)
    # The same name in a sub-directory is an ordinary file.
    fs.schedule(format="jsonl", directory="sub", filename="scheduler_history.json")
    assert fs.run().status == "success"
    assert Path(fs.exports / "sub" / "scheduler_history.json").is_file()


@pytest.mark.parametrize("directory", [".journal", ".journal/sub"])
def test_the_run_journal_is_never_an_output_directory(fs: FsHome, directory: str) -> None:
    # a JSON Lines file there would be read as a run record and merged into the history
    with pytest.raises(ConfigError, match="which PSTT keeps for its own records") as err:
        fs.schedule(format="jsonl", directory=directory, filename="x.json")
    assert err.value.path == "$.sink_options.directory"


def test_a_link_into_the_journal_is_refused_when_the_file_is_opened(fs: FsHome) -> None:
    fs.schedule(format="jsonl", directory="daily", filename="x.json")
    run = fs.pstt.runner.prepare("fs")
    fs.pstt.home.journal.mkdir(parents=True, exist_ok=True)
    (fs.exports / "daily").symlink_to(fs.pstt.home.journal, target_is_directory=True)
    record = fs.pstt.runner.run(run)
    assert record.status == "failed"
    assert "which PSTT keeps for its own records" in (record.error or "")
    assert list(fs.pstt.home.journal.iterdir()) == []
    assert fs.pstt.history.get(record.export_id) is not None


def test_an_export_root_holding_the_home_keeps_out_of_its_locks(home: HomeBuilder) -> None:
    fs = FsHome(home, environ={"PSTT_EXPORT_ROOT": "."})
    with pytest.raises(ConfigError, match=r"\.locks.*which PSTT keeps for its own records"):
        fs.schedule(directory=".locks", filename="x.csv")
    fs.schedule(directory="out", filename="x.csv")
    assert fs.run().status == "success"
    assert (home.root / "out" / "x.csv").is_file()
