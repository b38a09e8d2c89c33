"""Options of the filesystem sink and their validation."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from pstt_core import (
    CSV_LOCALES,
    DECIMAL_SEPARATORS,
    LOCALE_HELP,
    ConfigError,
    FormatOptions,
    PluginEnv,
    TemplateError,
    render_template,
    slugify,
)

PLACEHOLDERS = ("schedule_id", "schedule_name", "run_time", "date", "time", "export_id", "ext")
DEFAULT_TEMPLATE = "{schedule_id}_{run_time:%Y%m%d_%H%M%S}.{ext}"


@attrs.define
class FilesystemOptions:
    format: str = attrs.field(default="csv", metadata={"choices_from": "formats",
                                                       "label": "Format"})
    directory: str = attrs.field(default="", metadata={
        "help": "Sub-directory of the export root (relative; '..' is refused)"})
    filename: str = attrs.field(default=DEFAULT_TEMPLATE, metadata={
        "label": "File name template",
        "help": "Placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                + "; run_time takes strftime formats, e.g. {run_time:%Y%m%d}"})
    gzip: bool = attrs.field(default=False, metadata={"help": "Compress (adds .gz); CSV/JSONL only"})
    overwrite: bool = attrs.field(default=False, metadata={
        "help": "Replace an existing file of the same name (otherwise the run fails)"})
    keep_last: int | None = attrs.field(default=None, metadata={
        "help": "Keep only the newest N files of this schedule"})
    keep_days: int | None = attrs.field(default=None, metadata={
        "help": "Delete this schedule's files older than N days"})
    locale: str | None = attrs.field(default=None, metadata={
        "label": "CSV locale preset", "choices": tuple(CSV_LOCALES), "help": LOCALE_HELP})
    delimiter: str = attrs.field(default=",", metadata={
        "advanced": True, "help": "CSV separator; ';' goes with a decimal comma"})
    decimal_separator: str = attrs.field(default=".", metadata={
        "advanced": True, "choices": DECIMAL_SEPARATORS,
        "help": "CSV decimal mark of floats and decimals; ',' needs delimiter ';'"})
    quoting: str = attrs.field(default="minimal", metadata={
        "advanced": True, "choices": ("minimal", "all", "nonnumeric", "none")})
    encoding: str = attrs.field(default="utf-8", metadata={
        "advanced": True, "help": "utf-8-sig adds a BOM so Excel detects UTF-8"})
    header: bool = attrs.field(default=True, metadata={"advanced": True})
    null: str = attrs.field(default="", metadata={"advanced": True, "help": "Text for NULL (CSV)"})
    sheet_name: str = attrs.field(default="data", metadata={"advanced": True})
    iso_text_dates: bool = attrs.field(default=True, metadata={
        "advanced": True, "label": "XLSX dates from ISO text",
        "help": "A text column whose values are all ISO 8601 dates or timestamps "
                "(2026-01-31, 2026-01-31 08:15:00) becomes date cells"})

    def format_options(self) -> FormatOptions:
        return FormatOptions(delimiter=self.delimiter, quoting=self.quoting,
                             encoding=self.encoding, header=self.header, null=self.null,
                             sheet_name=self.sheet_name, locale=self.locale,
                             decimal_separator=self.decimal_separator,
                             iso_text_dates=self.iso_text_dates)


def template_values(run_time: datetime, *, schedule_id: str, schedule_name: str,
                    export_id: str, ext: str) -> dict[str, Any]:
    return {"schedule_id": schedule_id, "schedule_name": slugify(schedule_name),
            "run_time": run_time, "date": run_time.strftime("%Y%m%d"),
            "time": run_time.strftime("%H%M%S"), "export_id": export_id, "ext": ext}


MAX_NAME_BYTES = 255  # what every common file system holds in one name
MAX_PATH_BYTES = 4096  # Linux PATH_MAX


def render_name(template: str, values: dict[str, Any]) -> str:
    """The file name of ``template`` (plain placeholders only, the e-mail sink's rules);
    at most 255 bytes in UTF-8."""
    try:
        name = render_template(template, values)
    except TemplateError as exc:
        if exc.placeholder is not None:
            raise ConfigError(f"unknown placeholder {{{exc.placeholder}}} in file name template; "
                              f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
                              path="filename") from None
        raise ConfigError(f"bad file name template: {exc}", path="filename") from None
    if not name or name in (".", ".."):
        raise ConfigError("file name template renders to an empty name", path="filename")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise ConfigError(f"the file name {name[:40]!r}… is {size} bytes long (at most "
                          f"{MAX_NAME_BYTES})", path="filename")
    return name


def _comparable(path: Path) -> tuple[str, ...]:
    """A path as a case-insensitive file system (Windows, macOS) sees it: case folded, each
    part without trailing dots and spaces and without an NTFS ``:stream`` suffix."""
    parts = []
    for part in path.parts:
        part = part.split(":", 1)[0] if ":" in part and not part.endswith(":") else part
        parts.append(part.rstrip(". ").casefold())
    return tuple(parts)


def confined(root: Path, directory: str, name: str = "") -> Path:
    """``root/directory/name`` resolved; refused when it could leave ``root``.

    Refused: an absolute directory, any ``..`` component, and a path that resolves outside
    the root through a symbolic link. Checked when a schedule is saved and again at run
    time (a link may have been created since).
    """
    parts = Path(directory).parts if directory else ()
    if Path(directory).is_absolute() or Path(directory).drive:
        raise ConfigError(f"directory {directory!r} must be relative to the export root {root}",
                          path="directory")
    if ".." in parts:
        raise ConfigError(f"directory {directory!r} contains '..', which escapes the export root; "
                          "give a path below it", path="directory")
    target = root.joinpath(directory, name).resolve() if name else root.joinpath(directory).resolve()
    if target != root and root not in target.parents:
        shown = "/".join(p for p in (directory, name) if p)
        raise ConfigError(f"path {shown!r} escapes the export root {root}: it resolves to {target} "
                          "(through a symbolic link)", path="directory")
    return target


def target_path(root: Path, state_files: Collection[Path], directory: str, name: str,
                private_dirs: Iterable[Path] = ()) -> Path:
    """Where a rendered file name goes: one plain name under ``root/directory``, never a
    hidden name (those are files being written), a PSTT state file (the core's or any
    plugin's, as the env lists them), or anything inside ``private_dirs`` (PSTT's run
    journal and locks, reachable when the export root contains them: a file there would be
    read as a run record)."""
    if "/" in name or "\\" in name or "\0" in name:
        raise ConfigError(f"the file name {name!r} contains a path separator; put sub-directories "
                          "in 'directory'", path="filename")
    if name.startswith("."):
        raise ConfigError(f"the file name {name!r} starts with '.' (hidden names are reserved for "
                          "files being written)", path="filename")
    target = confined(root, directory, name)
    size = len(str(target).encode("utf-8", "surrogatepass"))
    if size > MAX_PATH_BYTES:
        raise ConfigError(f"the path of the file is {size} bytes long (at most {MAX_PATH_BYTES})",
                          path="directory")
    if _comparable(target) in {_comparable(p) for p in state_files}:
        raise ConfigError(f"the file name {name!r} is a PSTT state file in {target.parent}",
                          path="filename")
    where = _comparable(target)
    for private in private_dirs:
        private = private.resolve()
        inside = _comparable(private)
        if where[:len(inside)] == inside:
            raise ConfigError(f"directory {directory!r} is inside {private}, which PSTT keeps "
                              "for its own records", path="directory")
    return target


def validate_options(options: FilesystemOptions, env: PluginEnv) -> None:
    try:
        fmt = env.format(options.format)
    except ConfigError as exc:
        raise ConfigError(exc.message, path="format") from None
    if options.gzip and not fmt.compressible:
        raise ConfigError(f"gzip is only for csv and jsonl; {options.format} files are already "
                          "compressed", path="gzip")
    if len(options.delimiter) != 1 or options.delimiter in '"\\\r\n':
        raise ConfigError("delimiter must be a single character other than '\"', '\\', CR or LF",
                          path="delimiter")
    quotings = attrs.fields(FilesystemOptions).quoting.metadata["choices"]
    if options.quoting not in quotings:
        raise ConfigError(f"quoting {options.quoting!r} is not one of {', '.join(quotings)}",
                          path="quoting")
    try:
        "x".encode(options.encoding)
    except LookupError:
        raise ConfigError(f"unknown encoding {options.encoding!r}", path="encoding") from None
    fmt.check(options.format_options())
    for field in ("keep_last", "keep_days"):
        value = getattr(options, field)
        if value is not None and value < 1:
            raise ConfigError("must be at least 1 (or omitted)", path=field)
    sample = template_values(datetime.now(timezone.utc), schedule_id="id", schedule_name="name",
                             export_id="0", ext=fmt.extension)
    name = render_name(options.filename, sample)
    target_path(env.export_root, env.state_files, options.directory, name, env.private_dirs)
