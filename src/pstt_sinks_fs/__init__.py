"""Sharing mode ``filesystem``: result files under the export root (a PSTT plugin)."""

from __future__ import annotations

from collections.abc import Callable

from pstt_core import SinkType, hookimpl

from .options import FilesystemOptions, validate_options
from .sink import FilesystemSink

SINK = SinkType(
    name="filesystem",
    label="File (filesystem)",
    options=FilesystemOptions,
    factory=FilesystemSink,
    description="Writes the result as CSV, JSON Lines, XLSX, Parquet or any installed format "
                "under the export root (PSTT_EXPORT_ROOT).",
    validate=validate_options,
    history_fields=("path", "file_bytes", "format", "files_removed"),
)


@hookimpl
def register_sinks(register: Callable[[SinkType], None]) -> None:
    register(SINK)
