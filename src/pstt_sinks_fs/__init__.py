"""Sharing mode ``filesystem``: result files under the export root (a PSTT plugin)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pstt_core import PluginEnv, SinkType, hookimpl

from .options import FilesystemOptions, validate_options
from .partials import sweep
from .sink import FilesystemSink

log = logging.getLogger("pstt.sinks.filesystem")


def output_file(record: Mapping[str, Any], env: PluginEnv) -> Path | None:
    """The file a run recorded in ``path``, if it is still there and inside the export root
    (a hand-edited history cannot point the download link anywhere else)."""
    relative = record.get("path")
    if not isinstance(relative, str) or not relative:
        return None
    root = env.export_root
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


SINK = SinkType(
    name="filesystem",
    label="File (filesystem)",
    options=FilesystemOptions,
    factory=FilesystemSink,
    description="Writes the result as CSV, JSON Lines, XLSX, Parquet or any installed format "
                "under the export root (PSTT_EXPORT_ROOT).",
    validate=validate_options,
    history_fields=("path", "file_bytes", "format", "files_removed"),
    output_file=output_file,
)


@hookimpl
def register_sinks(register: Callable[[SinkType], None]) -> None:
    register(SINK)


@hookimpl
def pstt_startup(env: PluginEnv) -> None:
    """Remove the partial files of exports whose process ended (see :mod:`.partials`)."""
    try:
        sweep(env.export_root, recursive=True)
    except Exception as exc:  # never a reason not to start
        log.warning("could not look for partial files: %s", exc)
