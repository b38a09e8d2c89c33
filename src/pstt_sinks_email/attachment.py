"""The attachment: rows streamed through a core output format into a temporary file,
zipped when large, refused above a hard limit. Memory stays bounded by one batch."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from typing import IO, Any

from pstt_core import FormatOptions, FormatWriter, OutputFormat, SinkError

CHUNK = 1 << 20


class AttachmentTooLarge(SinkError):
    pass


class Attachment:
    """A file built batch by batch; ``finish()`` returns (file, name, media type, size)."""

    def __init__(self, fmt: OutputFormat, columns: Sequence[str], options: FormatOptions, *,
                 max_bytes: int, zip_above: int | None):
        self.fmt = fmt
        self.max_bytes = max_bytes
        self.zip_above = zip_above
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="pstt-mail-")  # noqa: SIM115
        self.zipped: IO[bytes] | None = None
        self.writer: FormatWriter = fmt.open(self.file, columns, options)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.write(rows)
        # Without zipping the file is the attachment: stop early instead of filling the disk.
        if self.zip_above is None and self.file.tell() > self.max_bytes:
            raise self._too_large(self.file.tell(), "at least ")

    @property
    def rows(self) -> int:
        return self.writer.rows

    def _too_large(self, size: int, prefix: str = "") -> AttachmentTooLarge:
        return AttachmentTooLarge(
            f"the attachment is {prefix}{size:,} bytes, above the limit max_bytes={self.max_bytes:,}; "
            "nothing was sent (raise max_bytes, lower zip_above_bytes, or narrow the query)")

    def finish(self, stem: str) -> tuple[IO[bytes], str, str, int]:
        self.writer.close()
        self.file.flush()
        size = self.file.seek(0, 2)
        name = f"{stem}.{self.fmt.extension}"
        out, media = self.file, self.fmt.media_type
        if self.zip_above is not None and size > self.zip_above:
            out, size = self._zip(name), 0
            size = out.seek(0, 2)
            name, media = name + ".zip", "application/zip"
        if size > self.max_bytes:
            raise self._too_large(size)
        out.seek(0)
        return out, name, media, size

    def _zip(self, inner: str) -> IO[bytes]:
        self.zipped = tempfile.TemporaryFile(prefix="pstt-mail-zip-")  # noqa: SIM115
        self.file.seek(0)
        with zipfile.ZipFile(self.zipped, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf, \
                zf.open(inner, "w", force_zip64=True) as member:
            shutil.copyfileobj(self.file, member, CHUNK)
        return self.zipped

    def close(self) -> None:
        for fh in (self.zipped, self.file):
            if fh is not None:
                with contextlib.suppress(OSError):
                    fh.close()
