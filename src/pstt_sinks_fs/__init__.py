"""Sharing mode ``filesystem``: result files under the export root (a PSTT plugin)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pstt_core import Setting, SinkType, hookimpl

from .options import FilesystemOptions, export_root, validate_options
from .sink import FilesystemSink


def output_file(record: Mapping[str, Any], pstt: Any) -> Path | None:
    """The file a run recorded in ``path``, if it is still there and inside the export root
    (a hand-edited history cannot point the download link anywhere else)."""
    relative = record.get("path")
    if not isinstance(relative, str) or not relative:
        return None
    root = export_root(pstt)
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


SINK = SinkType(
    name="filesystem",
    label="File (filesystem)",
    options=FilesystemOptions,
    factory=FilesystemSink,
    description="Writes the result as CSV, JSON Lines, XLSX or Parquet under the export root.",
    validate=validate_options,
    history_fields=("path", "file_bytes", "format", "files_removed"),
    output_file=output_file,
)


@hookimpl
def register_sinks(register: Callable[[Any], None]) -> None:
    register(SINK)


@hookimpl
def register_settings(register: Callable[[Any], None]) -> None:
    register(Setting("PSTT_EXPORT_ROOT", str, "", "Directory the filesystem sink may write under "
                     "(default: <home>/exports). Paths escaping it are refused.", group="filesystem"))
