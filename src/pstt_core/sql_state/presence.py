"""The scheduler processes' heartbeats in ``pstt_instances`` (see :mod:`pstt_core.presence`)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..presence import FIELDS, FORGET_SEC
from .tables import instances


class SqlPresence:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def beat(self, row: dict[str, Any]) -> None:
        values = {k: row.get(k) for k in FIELDS}
        with self.engine.begin() as conn:
            done = conn.execute(instances.update()
                                .where(instances.c.process == row["process"])
                                .values(**values)).rowcount
        if not done:
            try:
                with self.engine.begin() as conn:
                    conn.execute(instances.insert().values(**values))
            except IntegrityError:  # two beats of one process at once: the other wrote it
                pass
        limit = time.time() - FORGET_SEC
        with self.engine.begin() as conn:
            conn.execute(instances.delete().where(
                sa.func.coalesce(instances.c.stopped_ts, instances.c.heartbeat_ts) < limit))

    def leave(self, process: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(instances.update().where(instances.c.process == process)
                         .values(stopped_ts=time.time()))

    def processes(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(sa.select(instances))]
