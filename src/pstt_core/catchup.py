"""Fires that fell while no scheduler was running: recorded when the first one starts.

A scheduler that starts while no other is alive (:mod:`pstt_core.presence`) looks at the
fires of each enabled schedule between the moment the last scheduler was seen — its stop, or
its last heartbeat if it was killed — and its own first fire, at most
``PSTT_MISSED_FIRES_LOOKBACK_SEC`` back and never before the schedule was last changed. Each
is claimed like any fire (:mod:`pstt_core.claims`), so with several instances starting at
once each is recorded once, and a fire the lost process did run (it claimed it) is left
alone. They are recorded ``skipped`` (:data:`NO_INSTANCE`); with ``catchup: latest`` the
latest one runs instead. With another scheduler alive there is nothing to do: it runs the
fires.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from .cron import next_fire_times
from .history import parse_time
from .models import Schedule
from .presence import is_alive, last_seen

log = logging.getLogger("pstt.scheduler")

NO_INSTANCE = "missed: no instance was running"
# Recorded per schedule at most (the latest ones); the rest are counted in the log.
MAX_RECORDED = 100
# Fire times looked at per schedule at most (a 1 s interval over a day is 86,400).
MAX_SCANNED = 400_000


def gap_start(rows: Iterable[dict[str, Any]], me: str, ttl: float,
              now: float) -> float | None:
    """When the last other scheduler process was seen, if none is alive now; ``None`` when
    one is alive (it runs the fires) or none was ever seen (nothing is known)."""
    others = [r for r in rows if r.get("process") != me]
    if not others or any(is_alive(r, ttl, now) for r in others):
        return None
    return max(last_seen(r) for r in others)


def missed(schedule: Schedule, trigger: Any, since: datetime,
           until: datetime) -> tuple[list[datetime], int]:
    """The latest :data:`MAX_RECORDED` fire times of ``trigger`` after ``since`` (and after
    the schedule's last change) and before ``until``, and how many there were in all."""
    changed = parse_time(schedule.updated_at or schedule.created_at)
    start = max(since, changed) if changed else since
    times: deque[datetime] = deque(maxlen=MAX_RECORDED)
    total = 0
    for fire in next_fire_times(trigger, start, MAX_SCANNED):
        if fire >= until:
            break
        total += 1
        times.append(fire)
    return list(times), total


def reason(due: datetime) -> str:
    return f"{NO_INSTANCE} (due at {due.astimezone(timezone.utc).isoformat(timespec='seconds')})"


def window(since_ts: float, lookback_sec: int, now: datetime) -> datetime:
    """The start of the look-back: the gap's start, at most ``lookback_sec`` ago."""
    return max(datetime.fromtimestamp(since_ts, timezone.utc),
               now - timedelta(seconds=lookback_sec))
