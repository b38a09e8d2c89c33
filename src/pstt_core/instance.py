"""This instance's id, written on every run record (``instance``) and fire claim.

``<host>/<name>``: the host name, then ``PSTT_INSTANCE_NAME`` or, when that is not set, an
id generated once and kept in the home (``exports/.instance_id``, so the upgrade procedure,
which keeps ``exports/``, keeps it too). Several processes on one home share the generated
name; set ``PSTT_INSTANCE_NAME`` to tell them apart.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from pathlib import Path


def instance_id(name: str, id_file: Path) -> str:
    return f"{socket.gethostname()}/{name or generated_name(id_file)}"


def generated_name(path: Path) -> str:
    """The name kept in ``path``, created on first use (exclusively: two processes starting
    together agree on one)."""
    for _ in range(50):
        with contextlib.suppress(FileNotFoundError):
            text = path.read_text(encoding="utf-8").strip()
            if text:
                return text
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            time.sleep(0.01)  # its creator is writing it
            continue
        name = uuid.uuid4().hex[:12]
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return name
    raise OSError(f"{path} stays empty: remove it, or set PSTT_INSTANCE_NAME")
