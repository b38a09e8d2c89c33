"""Helpers for the filesystem sink tests: one schedule per test on the demo database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pstt_core import Pstt
from pstt_core.models import RunRecord
from tests.conftest import HomeBuilder


class FsHome:
    """A home with the 500-order demo database; schedules are saved through the facade so
    they are validated exactly as the API and dashboard validate them."""

    def __init__(self, builder: HomeBuilder, **pstt_kwargs: Any):
        builder.write()
        self.root = builder.root
        self.exports = builder.root / "exports"
        self.pstt = Pstt(builder.root, logs=False, **pstt_kwargs)

    def schedule(self, sid: str = "fs", *, query: str = "SELECT * FROM orders ORDER BY id",
                 timezone: str = "UTC", batch_size: int = 10_000, **options: Any) -> str:
        self.pstt.create_schedule({
            "id": sid, "name": f"Schedule {sid}", "connection": "demo", "query": query,
            "trigger": {"type": "interval", "seconds": 3600}, "timezone": timezone,
            "enabled": False, "sharing_mode": "filesystem", "batch_size": batch_size,
            "sink_options": options})
        return sid

    def run(self, sid: str = "fs", **kwargs: Any) -> RunRecord:
        return self.pstt.run(sid, **kwargs)

    def files(self, directory: str = "") -> list[str]:
        """Every file under ``exports/directory`` (hidden ones too), PSTT's own excluded:
        the state files and the run journal (``exports/.journal/``)."""
        base = self.exports / directory
        journal = self.pstt.home.journal
        state = self.pstt.plugin_env("filesystem").state_files
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*")
                      if p.is_file() and p not in state and journal not in p.parents)

    def path(self, record: RunRecord) -> Path:
        return self.exports / str(record.extra["path"])


@pytest.fixture
def fs(home: HomeBuilder) -> FsHome:
    return FsHome(home)
