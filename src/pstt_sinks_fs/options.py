"""Options of the filesystem sink and their validation."""

from __future__ import annotations

import string
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from pstt_core import ConfigError

if TYPE_CHECKING:
    from pstt_core import Pstt

FORMATS = ("csv", "jsonl", "xlsx", "parquet")
PLACEHOLDERS = ("schedule_id", "schedule_name", "run_time", "date", "time", "export_id", "ext")
DEFAULT_TEMPLATE = "{schedule_id}_{run_time:%Y%m%d_%H%M%S}.{ext}"


@attrs.define
class FilesystemOptions:
    format: str = attrs.field(default="csv", metadata={"choices": FORMATS, "label": "Format"})
    directory: str = attrs.field(default="", metadata={
        "help": "Sub-directory of the export root (relative; '..' is refused)"})
    filename: str = attrs.field(default=DEFAULT_TEMPLATE, metadata={
        "label": "File name template",
        "help": "Placeholders: " + ", ".join("{%s}" % p for p in PLACEHOLDERS)
                + "; run_time takes strftime formats, e.g. {run_time:%Y%m%d}"})
    gzip: bool = attrs.field(default=False, metadata={"help": "Compress (adds .gz); CSV/JSONL only"})
    overwrite: bool = attrs.field(default=False, metadata={
        "help": "Replace an existing file of the same name (otherwise the run fails)"})
    keep_last: int | None = attrs.field(default=None, metadata={
        "help": "Keep only the newest N files of this schedule"})
    keep_days: int | None = attrs.field(default=None, metadata={
        "help": "Delete this schedule's files older than N days"})
    delimiter: str = attrs.field(default=",", metadata={"advanced": True, "help": "CSV separator"})
    quoting: str = attrs.field(default="minimal", metadata={
        "advanced": True, "choices": ("minimal", "all", "nonnumeric", "none")})
    encoding: str = attrs.field(default="utf-8", metadata={
        "advanced": True, "help": "utf-8-sig adds a BOM so Excel detects UTF-8"})
    header: bool = attrs.field(default=True, metadata={"advanced": True})
    null: str = attrs.field(default="", metadata={"advanced": True, "help": "Text for NULL (CSV)"})
    sheet_name: str = attrs.field(default="data", metadata={"advanced": True})


def template_values(run_time: datetime, *, schedule_id: str, schedule_name: str,
                    export_id: str, ext: str) -> dict[str, Any]:
    from pstt_core.schedules import slugify

    return {"schedule_id": schedule_id, "schedule_name": slugify(schedule_name),
            "run_time": run_time, "date": run_time.strftime("%Y%m%d"),
            "time": run_time.strftime("%H%M%S"), "export_id": export_id, "ext": ext}


def render_name(template: str, values: dict[str, Any]) -> str:
    try:
        name = template.format(**values)
    except KeyError as exc:
        raise ConfigError(f"unknown placeholder {{{exc.args[0]}}} in file name template; "
                          f"use {', '.join('{%s}' % p for p in PLACEHOLDERS)}", path="filename") from None
    except (ValueError, IndexError, AttributeError) as exc:
        raise ConfigError(f"bad file name template: {exc}", path="filename") from None
    if not name or name in (".", ".."):
        raise ConfigError("file name template renders to an empty name", path="filename")
    return name


def export_root(pstt: Pstt) -> Path:
    configured = pstt.settings.get("PSTT_EXPORT_ROOT") or ""
    root = Path(configured) if configured else pstt.home.exports
    if not root.is_absolute():
        root = pstt.home.root / root
    return root.resolve()


def confined(root: Path, *parts: str) -> Path:
    """``root/parts`` resolved, refused when it escapes ``root`` (``..``, absolute, symlink)."""
    for part in parts:
        if Path(part).is_absolute() or Path(part).drive:
            raise ConfigError(f"{part!r} must be relative to the export root", path="directory")
    target = root.joinpath(*parts).resolve()
    if target != root and root not in target.parents:
        raise ConfigError(f"path {'/'.join(parts)!r} escapes the export root {root}", path="directory")
    return target


def validate_options(options: FilesystemOptions, pstt: Pstt) -> None:
    fmt = pstt.registry.formats.get(options.format)
    if fmt is None:
        raise ConfigError(f"unknown format {options.format!r}; available: "
                          f"{', '.join(sorted(pstt.registry.formats))}", path="format")
    if not fmt.available:
        raise ConfigError(fmt.unavailable_reason or "format unavailable", path="format")
    if options.gzip and not fmt.compressible:
        raise ConfigError(f"gzip is only for text formats; {options.format} is already compressed",
                          path="gzip")
    if len(options.delimiter) != 1:
        raise ConfigError("delimiter must be a single character", path="delimiter")
    try:
        "x".encode(options.encoding)
    except LookupError:
        raise ConfigError(f"unknown encoding {options.encoding!r}", path="encoding") from None
    for field in ("keep_last", "keep_days"):
        value = getattr(options, field)
        if value is not None and value < 1:
            raise ConfigError("must be at least 1 (or omitted)", path=field)
    fields = {f[1] for f in string.Formatter().parse(options.filename) if f[1]}
    if any("/" in f or "\\" in f for f in fields):
        raise ConfigError("placeholders cannot contain path separators", path="filename")
    sample = template_values(datetime.now(timezone.utc), schedule_id="id", schedule_name="name",
                             export_id="0", ext=fmt.extension)
    name = render_name(options.filename, sample)
    root = export_root(pstt)
    confined(root, options.directory, name)
