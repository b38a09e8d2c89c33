"""This instance's id, written on every run record (``instance``) and fire claim.

``<host>/<name>``: the host name, then ``PSTT_INSTANCE_NAME`` or, when that is not set, a
name derived from the home's path (``home-<8 hex digits>``), so it is stable across restarts
and different for each home of a host without a file of its own in the home. Several
processes on one home share it; set ``PSTT_INSTANCE_NAME`` to tell them apart.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path


def instance_id(name: str, home: Path) -> str:
    return f"{socket.gethostname()}/{name or home_name(home)}"


def home_name(home: Path) -> str:
    digest = hashlib.sha256(str(home.resolve()).encode("utf-8")).hexdigest()
    return f"home-{digest[:8]}"
