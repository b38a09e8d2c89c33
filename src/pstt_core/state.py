"""Atomic JSON state files: temp file in the same directory + fsync + rename + fsync(dir).

A crash at any point leaves either the old file or the new one under the final name, never
a truncated mix. Readers see only complete files.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from .errors import ConfigError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def read_json(path: Path, default: Any) -> Any:
    """Read a state file; a missing file gives ``default``, a corrupt one a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return default
    if not text.strip():
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                          file=str(path)) from None


class JsonFile:
    """A JSON document on disk with a lock and a cache keyed on the file's mtime."""

    def __init__(self, path: Path, default: Any):
        self.path = path
        self.default = default
        self.lock = threading.RLock()
        self._cache: Any = None
        self._stamp: tuple[int, int] | None = None

    def stamp(self) -> tuple[int, int] | None:
        """(mtime in ns, size) of the file, or ``None`` when it does not exist."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def load(self) -> Any:
        with self.lock:
            stamp = self.stamp()
            if stamp is None:
                return json.loads(json.dumps(self.default))
            if stamp != self._stamp:
                self._cache = read_json(self.path, self.default)
                self._stamp = stamp
            return self._cache

    def save(self, data: Any) -> None:
        with self.lock:
            atomic_write_json(self.path, data)
            self._cache = data
            self._stamp = self.stamp()
