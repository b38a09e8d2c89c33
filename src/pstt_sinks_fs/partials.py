"""Partial files (``.<name>.<hex>.partial``) of exports that never finished.

A writer holds an exclusive ``flock`` on its partial file until it is renamed or removed, so
a partial file nobody holds belongs to a run whose process ended (SIGKILL, power loss): it is
removed at start-up (the whole export root) and before each run (the run's directory).
Retention never sees them: it only counts files that a successful run recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("pstt.sinks.filesystem")

PATTERN = ".*.partial"
# Between creating a partial file and taking its lock, a writer has written nothing yet: an
# empty one is removed only once it is this old, whatever its lock says.
EMPTY_AGE_SEC = 60.0


def hold(fd: int) -> None:
    """Take the writer's lock on an open partial file (POSIX; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _abandoned(path: Path) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: an open file cannot be removed anyway
        return time.time() - path.stat().st_mtime > 3600
    st = path.stat()
    if st.st_size == 0 and time.time() - st.st_mtime < EMPTY_AGE_SEC:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live run is writing it
    finally:
        os.close(fd)
    return True


def sweep(directory: Path, *, recursive: bool) -> int:
    """Remove the abandoned partial files in ``directory``; returns how many."""
    if not directory.is_dir():
        return 0
    found = directory.rglob(PATTERN) if recursive else directory.glob(PATTERN)
    removed = 0
    for path in found:
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove
            if path.is_file() and _abandoned(path):
                path.unlink()
                removed += 1
                log.warning("removed %s, left by an export that did not finish", path)
    return removed
