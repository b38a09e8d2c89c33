"""docs/SETTINGS.md is the one settings table: it must list exactly what the code declares."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pstt_core.cli import build_cli

DOC = Path(__file__).parents[2] / "docs" / "SETTINGS.md"


def test_settings_doc_matches_the_declared_settings(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["--home", str(tmp_path), "settings", "--markdown"])
    assert result.exit_code == 0, result.output
    table = result.output.strip()
    assert table in DOC.read_text(encoding="utf-8"), (
        "docs/SETTINGS.md is out of date: regenerate it with `pstt settings --markdown`")
    for name in ("PSTT_API_TOKEN", "KAFKA_ACKS", "KAFKA_SUCCESS_THRESHOLD", "PSTT_EXPORT_ROOT"):
        assert f"`{name}`" in table
