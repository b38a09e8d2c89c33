"""The filesystem sink: write to a hidden temp file beside the target, then rename.

No reader ever sees a half-written file under the final name; a failed run leaves nothing.
"""

from __future__ import annotations

import gzip
import logging
import os
import uuid
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pstt_core import ConfigError, FormatWriter, Sink, SinkContext, SinkResult, fsync_dir

from . import partials
from .options import FilesystemOptions, render_name, target_path, template_values
from .retention import expired_files, record_published

log = logging.getLogger("pstt.sinks.filesystem")


class FilesystemSink(Sink):
    def __init__(self, ctx: SinkContext):
        super().__init__(ctx)
        self.options: FilesystemOptions = ctx.options
        self.root = ctx.env.export_root
        self.fmt = ctx.env.format(self.options.format)
        self.tmp: Path | None = None
        self.final: Path | None = None
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self.writer: FormatWriter | None = None

    def _target(self) -> Path:
        """The final path; the run time is shown in the schedule's time zone."""
        run = self.ctx.run
        local = run.export_timestamp.astimezone(zoneinfo.ZoneInfo(run.schedule.timezone))
        values = template_values(local, schedule_id=run.schedule.id, schedule_name=run.schedule.name,
                                 export_id=run.export_id, ext=self.fmt.extension)
        name = render_name(self.options.filename, values)
        if self.options.gzip:
            name += ".gz"
        env = self.ctx.env
        return target_path(self.root, env.state_files, self.options.directory, name,
                           env.private_dirs)

    def _exists_error(self) -> ConfigError:
        assert self.final is not None
        return ConfigError(f"{self.final.relative_to(self.root).as_posix()!r} already exists in the "
                           f"export root {self.root}; set overwrite, or put {{run_time}} or "
                           "{export_id} in the file name")

    def open(self, columns: Sequence[str]) -> None:
        super().open(columns)
        self.final = self._target()
        if self.final.exists() and not self.options.overwrite:
            raise self._exists_error()
        self.final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partials.sweep(self.final.parent, recursive=False)  # left by killed runs
        self.tmp = self.final.with_name(f".{self.final.name}.{uuid.uuid4().hex[:8]}.partial")
        # query results are the owner's only (0600), whatever the umask (docs/DEPLOYMENT.md)
        self._raw = open(self.tmp, "xb", buffering=1 << 20,  # noqa: SIM115 - closed in close/abort
                         opener=lambda p, f: os.open(p, f, 0o600))
        partials.hold(self._raw.fileno())
        stream: IO[bytes] = self._raw
        if self.options.gzip:
            self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6,
                                     filename=self.final.name[:-3])
            stream = self._gz  # type: ignore[assignment]
        self.writer = self.fmt.open(stream, self.columns, self.options.format_options())

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self.writer is not None
        self.writer.write(rows)

    def accepts_arrow(self, schema: Any) -> bool:
        return self.options.columnar_ready() and \
            self.fmt.accepts_arrow(self.options.format_options(), () if schema is None else schema)

    def write_arrow(self, batch: Any) -> None:
        assert self.writer is not None
        self.writer.write_arrow(batch)

    def close(self) -> SinkResult:
        assert self.writer is not None and self._raw is not None and self.tmp and self.final
        self.writer.close()
        if self._gz is not None:
            self._gz.close()  # writes the gzip trailer; the file itself stays open
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        self._publish()
        fields: dict[str, Any] = {"path": self.final.relative_to(self.root).as_posix(),
                                  "file_bytes": self.final.stat().st_size, "format": self.fmt.name}
        try:
            record_published(self.ctx.env.state, self.root, fields["path"],
                             self.ctx.run.schedule.id)
            removed = self._apply_retention()
        except Exception as exc:  # the file is delivered; a retention problem must not fail it
            log.warning("retention of schedule %s failed: %s", self.ctx.run.schedule.id, exc)
            fields["retention_error"] = f"{type(exc).__name__}: {exc}"
        else:
            if removed:
                fields["files_removed"] = removed
        return SinkResult(fields=fields)

    def _publish(self) -> None:
        """Give the complete temp file its final name, atomically."""
        assert self.tmp is not None and self.final is not None
        if self.options.overwrite:
            os.replace(self.tmp, self.final)
        else:
            # A hard link fails if the name was taken meanwhile: never clobber a file.
            try:
                os.link(self.tmp, self.final)
            except FileExistsError:
                raise self._exists_error() from None
            except OSError:  # file systems without hard links
                if self.final.exists():
                    raise self._exists_error() from None
                os.replace(self.tmp, self.final)
            else:
                self.tmp.unlink()
        fsync_dir(self.final.parent)

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
        doomed = expired_files(self.ctx.env.history, self.root, self.ctx.run.schedule.id, self.final,
                               keep_last=o.keep_last, keep_days=o.keep_days,
                               state=self.ctx.env.state)
        removed = 0
        for path in doomed:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:  # the export itself succeeded; report, do not fail it
                log.warning("retention could not remove %s: %s", path, exc)
                continue
            removed += 1
            log.info("retention of schedule %s removed %s", self.ctx.run.schedule.id, path)
        return removed
