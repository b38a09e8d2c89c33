"""Sharing mode ``filesystem``: result files under the export root (a PSTT plugin)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pstt_core import Setting, SinkType, hookimpl

from .options import FilesystemOptions, validate_options
from .sink import FilesystemSink

log = logging.getLogger("pstt.sinks.filesystem")

SINK = SinkType(
    name="filesystem",
    label="File (filesystem)",
    options=FilesystemOptions,
    factory=FilesystemSink,
    description="Writes the result as CSV, JSON Lines, XLSX or Parquet under the export root.",
    validate=validate_options,
    history_fields=("path", "file_bytes", "format", "files_removed"),
)


@hookimpl
def register_sinks(register: Callable[[Any], None]) -> None:
    register(SINK)


@hookimpl
def pstt_startup(pstt: Any) -> None:
    """Remove the partial files of exports whose process ended (see :mod:`.partials`)."""
    from .options import export_root
    from .partials import sweep

    try:
        sweep(export_root(pstt), recursive=True)
    except Exception as exc:  # never a reason not to start
        log.warning("could not look for partial files: %s", exc)


@hookimpl
def register_settings(register: Callable[[Any], None]) -> None:
    register(Setting("PSTT_EXPORT_ROOT", str, "", "Directory the filesystem sink may write under "
                     "(default: <home>/exports). Paths escaping it are refused.", group="filesystem"))
