"""The filesystem sink: write to a hidden temp file beside the target, then rename.

No reader ever sees a half-written file under the final name; a failed run leaves nothing.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import os
import time
import uuid
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pstt_core import ConfigError, FormatOptions, Sink, SinkContext, SinkResult
from pstt_core.formats import FormatWriter
from pstt_core.state import fsync_dir

from .options import FilesystemOptions, confined, export_root, render_name, template_values


class FilesystemSink(Sink):
    def __init__(self, ctx: SinkContext):
        super().__init__(ctx)
        self.options: FilesystemOptions = ctx.options
        self.root = export_root(ctx.pstt)
        self.fmt = ctx.pstt.registry.format(self.options.format)
        self.tmp: Path | None = None
        self.final: Path | None = None
        self._raw: IO[bytes] | None = None
        self._stream: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self.writer: FormatWriter | None = None

    def _target(self) -> Path:
        run = self.ctx.run
        local = run.export_timestamp.astimezone(zoneinfo.ZoneInfo(run.schedule.timezone))
        ext = self.fmt.extension
        values = template_values(local, schedule_id=run.schedule.id, schedule_name=run.schedule.name,
                                 export_id=run.export_id, ext=ext)
        name = render_name(self.options.filename, values)
        if self.options.gzip:
            name += ".gz"
        return confined(self.root, self.options.directory, name)

    def open(self, columns: Sequence[str]) -> None:
        super().open(columns)
        self.final = self._target()
        if self.final.exists() and not self.options.overwrite:
            raise ConfigError(f"{self.final} already exists (set overwrite, or put {{run_time}} "
                              "or {export_id} in the file name)")
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.final.with_name(f".{self.final.name}.{uuid.uuid4().hex[:8]}.partial")
        self._raw = open(self.tmp, "xb", buffering=1 << 20)  # noqa: SIM115
        stream: IO[bytes] = self._raw
        if self.options.gzip:
            self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6,
                                     filename=self.final.name[:-3])
            stream = io.BufferedWriter(self._gz, buffer_size=1 << 20)  # type: ignore[arg-type]
        self._stream = stream
        o = self.options
        fopts = FormatOptions(delimiter=o.delimiter, quoting=o.quoting, encoding=o.encoding,
                              header=o.header, null=o.null, sheet_name=o.sheet_name)
        self.writer = self.fmt.open(stream, self.columns, fopts)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self.writer is not None
        self.writer.write(rows)

    def close(self) -> SinkResult:
        assert self.writer is not None and self._raw is not None and self.tmp and self.final
        self.writer.close()
        if self._gz is not None:
            assert self._stream is not None
            self._stream.flush()
            self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.final)
        fsync_dir(self.final.parent)
        size = self.final.stat().st_size
        removed = self._apply_retention()
        fields: dict[str, Any] = {"path": str(self.final.relative_to(self.root)), "file_bytes": size,
                                  "format": self.fmt.name}
        if removed:
            fields["files_removed"] = removed
        return SinkResult(fields=fields)

    def abort(self, error: BaseException) -> None:
        for fh in (self._gz, self._raw):
            try:
                if fh is not None:
                    fh.close()
            except Exception:
                pass
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)

    def _apply_retention(self) -> int:
        o = self.options
        if not (o.keep_last or o.keep_days) or self.final is None:
            return 0
        pattern = _glob_for(o.filename, self.ctx.run.schedule, self.fmt.extension) + (
            ".gz" if o.gzip else "")
        directory = self.final.parent
        files = sorted((p for p in directory.iterdir()
                        if p.is_file() and fnmatch.fnmatchcase(p.name, pattern)),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        doomed: set[Path] = set()
        if o.keep_last:
            doomed.update(files[o.keep_last:])
        if o.keep_days:
            limit = time.time() - o.keep_days * 86400
            doomed.update(p for p in files if p.stat().st_mtime < limit)
        doomed.discard(self.final)
        for path in doomed:
            path.unlink(missing_ok=True)
        return len(doomed)


def _glob_for(template: str, schedule: Any, ext: str) -> str:
    """The file name template with the per-run placeholders turned into ``*``."""
    import string

    from pstt_core.schedules import slugify

    out = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        out.append(fnmatch_escape(literal))
        if field is None:
            continue
        fixed = {"schedule_id": schedule.id, "schedule_name": slugify(schedule.name), "ext": ext}
        out.append(fnmatch_escape(fixed[field]) if field in fixed else "*")
    return "".join(out)


def fnmatch_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)
