"""Run leases of the SQL backend: no two instances run one schedule at the same time, and
the runs of an instance that stopped heartbeating are recorded as ``interrupted``.

A run takes its schedule's lease (a ``pstt_leases`` row) before it starts; the holder's
heartbeat thread pushes ``expires_ts`` forward every third of ``PSTT_LEASE_TTL_SEC``. A lease
past its expiry belongs to a lost instance (killed, its host gone, cut off from the
database): every instance's heartbeat sweeps such leases, and the one whose ``DELETE`` removes
the row writes the run's record as ``interrupted`` ("instance lost"). The schedule's next
fire then runs normally.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..models import RunRecord
from .tables import leases

log = logging.getLogger("pstt.leases")
LOST = "instance lost"


class SqlLeases:
    """:param put_record: writes a record to the history (the backend's ``history.put``)."""

    def __init__(self, engine: sa.Engine, instance: Callable[[], str], ttl: float,
                 put_record: Callable[[RunRecord], bool]):
        self.engine = engine
        self.instance = instance
        self.ttl = ttl
        self.put_record = put_record
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self.taken_over: list[RunRecord] = []  # records this instance wrote for lost ones

    def acquire(self, schedule_id: str, record: dict[str, Any]) -> str | None:
        """Take the schedule's lease for the run ``record``; ``None`` on success, else the
        instance holding it. An expired lease is taken over (its run recorded lost)."""
        self._start_heartbeat()
        now = time.time()
        row = {"schedule_id": schedule_id, "export_id": record["export_id"],
               "instance": self.instance(), "heartbeat_ts": now, "expires_ts": now + self.ttl,
               "record": json.dumps(record, default=str)}
        try:
            with self.engine.begin() as conn:
                conn.execute(leases.insert().values(**row))
            return None
        except IntegrityError:
            pass
        self.sweep()  # an expired holder is recorded lost and its row removed
        try:
            with self.engine.begin() as conn:
                conn.execute(leases.insert().values(**row))
            return None
        except IntegrityError:
            with self.engine.connect() as conn:
                holder = conn.execute(sa.select(leases.c.instance).where(
                    leases.c.schedule_id == schedule_id)).scalar()
            return str(holder or "another instance")

    def release(self, schedule_id: str, export_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(leases.delete().where(leases.c.schedule_id == schedule_id,
                                               leases.c.export_id == export_id))

    def heartbeat(self) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(leases.update().where(leases.c.instance == self.instance())
                         .values(heartbeat_ts=now, expires_ts=now + self.ttl))

    def sweep(self) -> list[RunRecord]:
        """Record the runs of expired leases (of other instances) as ``interrupted``."""
        now = time.time()
        with self.engine.connect() as conn:
            expired = list(conn.execute(sa.select(leases).where(
                leases.c.expires_ts < now, leases.c.instance != self.instance())))
        recorded = []
        for lease in expired:
            with self.engine.begin() as conn:
                gone = conn.execute(leases.delete().where(
                    leases.c.schedule_id == lease.schedule_id,
                    leases.c.export_id == lease.export_id,
                    leases.c.expires_ts < now)).rowcount
            if gone != 1:
                continue  # renewed meanwhile, or another instance recorded it
            record = RunRecord.from_dict(json.loads(lease.record))
            last = datetime.fromtimestamp(lease.heartbeat_ts, timezone.utc).isoformat()
            record.status = "interrupted"
            record.error = (f"{LOST}: {lease.instance} stopped heartbeating (last at {last}); "
                            "rows delivered before are not counted")
            record.finished_at = last
            self.put_record(record)
            log.error("run %s of schedule %s recorded interrupted: %s", record.export_id,
                      record.schedule_id, record.error)
            recorded.append(record)
        self.taken_over.extend(recorded)
        return recorded

    # -- the heartbeat thread ------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        with self._guard:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._beat, name="pstt-lease-heartbeat",
                                                daemon=True)
                self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(max(self.ttl / 3, 0.2)):
            try:
                self.heartbeat()
                self.sweep()
            except Exception as exc:  # the database is away: the leases expire elsewhere
                log.warning("lease heartbeat failed: %s", exc)

    def start(self) -> None:
        """Heartbeat and sweep from now on (also before this instance holds a lease)."""
        self._start_heartbeat()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        self._thread = None
