"""Atomic JSON state files: temp file in the same directory + fsync + rename + fsync(dir).

A crash at any point leaves either the old file or the new one under the final name, never
a truncated mix. Readers see only complete files.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from .errors import ConfigError, StateFileError


class JsonDocument(Protocol):
    """A core state document (``schedules.json``, ``watermarks.json``) wherever the state
    backend keeps it: :class:`JsonFile` in the home, or a row of the state database
    (:class:`pstt_core.sql_state.documents.SharedDocument`).

    Hold ``lock`` around a read-modify-write (``load`` … ``save``); ``stamp`` changes with
    every save, so a reader polls it to see a change made by another process or instance.
    """

    @property
    def location(self) -> str:
        """Where the document is, for messages (a file path, a table and database)."""

    @property
    def lock(self) -> contextlib.AbstractContextManager[Any]:
        """Re-entrant, across threads, processes and (SQL) instances."""

    def stamp(self) -> Any:
        """Changes with every save (``None``: the document does not exist)."""

    def load(self) -> Any:
        """The document (the default when it does not exist); do not change it in place."""

    def save(self, data: Any) -> None:
        """Replace the document."""


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
    """Read a JSON file; a missing or blank file gives ``default``, a corrupt one a
    ConfigError naming the line and column."""
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
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits, deep nesting
        raise ConfigError(f"invalid JSON: {type(exc).__name__}: {exc}"[:300],
                          file=str(path)) from None


def read_state(path: Path, default: Any) -> Any:
    """Read a state file: a missing one gives ``default``; an empty or corrupt one is a
    :class:`StateFileError` (atomic saves never leave either, so it was damaged)."""
    try:
        if path.stat().st_size == 0:
            raise StateFileError("the file is empty", file=str(path))
        return read_json(path, default)
    except FileNotFoundError:
        return default
    except StateFileError:
        raise
    except ConfigError as exc:
        raise StateFileError(exc.message, file=str(path)) from None


class ProcessLock:
    """Re-entrant lock held across threads *and* processes for one state file.

    ``pstt serve`` and a ``pstt run`` started from cron both append to the same history: a
    read-modify-write must not interleave, or one of them silently drops the other's
    records. Threads share an ``RLock``; processes take a lock on a side file in the home's
    ``.locks`` (``flock`` on POSIX, ``msvcrt.locking`` on Windows; see :func:`_lock_file`).

    :param path: the lock file itself (created when first taken).
    """

    def __init__(self, path: Path):
        self.path = path
        self._rlock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> ProcessLock:
        self._rlock.acquire()
        if self._depth == 0:
            try:
                self._fd = _lock_file(self.path)
            except BaseException:
                self._rlock.release()
                raise
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            unlock_file(self._fd)
            self._fd = None
        self._rlock.release()


def _lock_file(path: Path, *, blocking: bool = True) -> int | None:
    """An exclusive lock on ``path`` (created if needed); the descriptor holds it until
    :func:`unlock_file`. POSIX: ``flock``; Windows: ``msvcrt.locking`` on the file's first
    byte. Without ``blocking`` a lock held elsewhere raises ``BlockingIOError``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock_fd(fd, blocking)
    except BaseException:
        os.close(fd)
        raise
    return fd


if sys.platform == "win32":
    import msvcrt

    def _lock_fd(fd: int, blocking: bool) -> None:
        os.lseek(fd, 0, os.SEEK_SET)  # the range starts at the current position
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
                return
            except OSError as exc:
                if not blocking:
                    raise BlockingIOError(str(exc)) from exc
                # LK_LOCK gives up after ten tries a second apart: keep waiting

    def unlock_file(fd: int) -> None:
        """Release a lock taken by :func:`_lock_file` and close its descriptor (Windows
        frees a range only some time after the close: unlock it first)."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        finally:
            os.close(fd)
else:
    import fcntl

    def _lock_fd(fd: int, blocking: bool) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)

    def unlock_file(fd: int) -> None:
        """Release a lock taken by :func:`_lock_file` and close its descriptor."""
        os.close(fd)  # closing the descriptor releases the flock


def try_lock_file(path: Path) -> tuple[bool, int | None]:
    """Take the lock on ``path`` if free: ``(True, fd)``, or ``(False, None)`` if held."""
    try:
        return True, _lock_file(path, blocking=False)
    except BlockingIOError:
        return False, None


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime in ns, size) of a file, or ``None`` when it does not exist.

    Every save renames a new file into place, so the inode changes even when two writes
    land within one tick of the file-system clock with the same size.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


# Temp files older than this were left by a killed writer (a live write takes far less).
STALE_TEMP_SEC = 3600


class JsonFile:
    """A JSON document on disk with a cross-process lock and a cache keyed on its stamp.

    Hold ``lock`` around a read-modify-write (``load`` … ``save``); ``load`` alone needs no
    lock, since files are replaced atomically.

    :param lock_dir: where the lock file ``<name>.lock`` lives (the home's ``.locks``);
        default: a hidden ``.<name>.lock`` beside the file.
    :param validate: ``validate(data, file)`` raises :class:`StateFileError` for a document
        the store cannot understand; checked once per change of the file, and a file that
        fails it is never saved over (every save follows a load).
    """

    def __init__(self, path: Path, default: Any, *, lock_dir: Path | None = None,
                 validate: Callable[[Any, str], None] | None = None):
        self.path = path
        self.default = default
        self.validate = validate
        self.lock = ProcessLock(lock_dir / f"{path.name}.lock" if lock_dir
                                else path.parent / f".{path.name}.lock")
        self._cache_lock = threading.Lock()
        self._cache: Any = None
        self._stamp: tuple[int, int, int] | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    def stamp(self) -> tuple[int, int, int] | None:
        return file_stamp(self.path)

    def load(self) -> Any:
        with self._cache_lock:
            stamp = self.stamp()
            if stamp is None:
                return json.loads(json.dumps(self.default))
            if stamp != self._stamp:
                data = read_state(self.path, self.default)
                if self.validate is not None:
                    self.validate(data, str(self.path))
                self._cache = data
                self._stamp = stamp
            return self._cache

    def save(self, data: Any) -> None:
        with self.lock:
            atomic_write_json(self.path, data)
            with self._cache_lock:
                self._cache = data
                self._stamp = self.stamp()
            self._remove_stale_temps()

    def _remove_stale_temps(self) -> None:
        """Delete temp files a killed writer left beside this file (never a live one)."""
        limit = time.time() - STALE_TEMP_SEC
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < limit:
                    tmp.unlink()


def json_kind(value: Any) -> str:
    """How a JSON value is called in error messages."""
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def check_fields(item: dict[str, Any], fields: dict[str, tuple[type, ...]], *, file: str,
                 path: str) -> None:
    """``StateFileError`` for the first present, non-null field of ``item`` whose value is
    not of its types (``bool`` never counts as a number)."""
    for name, types in fields.items():
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join(dict.fromkeys(json_kind(t()) for t in types))
            raise StateFileError(f"must be {wanted}, not {json_kind(value)}", file=file,
                                 path=f"{path}.{name}")
