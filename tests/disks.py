"""A small real file system (tmpfs) that a test can fill up: a full disk without mocks."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import need


@contextmanager
def small_disk(directory: Path, size: str = "256k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``directory`` for the block, holding a copy of what
    the directory held; unmounted afterwards (the old content reappears)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        need("tmpfs", "mounting a file system needs root and mount(8)")
    with tempfile.TemporaryDirectory() as saved:
        shutil.copytree(directory, saved, dirs_exist_ok=True)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                                  "tmpfs", str(directory)], capture_output=True, text=True)
        if mounted.returncode:
            need("tmpfs", mounted.stderr.strip() or "mount failed")
        try:
            shutil.copytree(saved, directory, dirs_exist_ok=True)
            yield directory
        finally:
            if subprocess.run(["umount", str(directory)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(directory: Path, *, leave: int = 0) -> Path:
    """Fill the file system of ``directory`` but for ``leave`` bytes (rounded up to whole
    pages, which is how tmpfs counts); returns the filler file (delete it to free the space)."""
    hole = directory / ".hole"
    if leave:
        hole.write_bytes(b"\0" * leave)
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    chunk = b"\0" * (64 * 1024)
    try:
        while True:
            try:
                if os.write(fd, chunk) == 0:
                    break
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    if leave:
        hole.unlink()
    return filler


def free_bytes(directory: Path) -> int:
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize
