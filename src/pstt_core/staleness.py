"""Staleness: a schedule with ``max_staleness_sec`` whose last successful run is older than
that is *stale* — it has silently stopped delivering, whatever the reason (a broken source,
a disabled job, runs that keep failing or being skipped).

The scheduler's watchdog job calls :func:`check` every ``PSTT_STALENESS_CHECK_SEC`` seconds.
A schedule that becomes stale is recorded once (core state member ``stale``, so a restart does
not repeat it), logged, and announced to plugins through the ``schedule_stale`` hook (the
e-mail plugin sends the failure notice). It stops being stale at its next success.
``/metrics`` (``pstt_schedule_stale``) and the ``/`` page read :func:`stale_schedules`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .history import parse_time
from .models import Schedule, iso
from .plugins import CORE

if TYPE_CHECKING:
    from .facade import Pstt

log = logging.getLogger("pstt.staleness")
MEMBER = "stale"


def stale_since(pstt: Pstt, schedule: Schedule, now: datetime) -> datetime | None:
    """When ``schedule`` became stale, or ``None``. Without any successful run the clock
    starts when the schedule was created (a schedule of unknown age is never stale)."""
    if not schedule.max_staleness_sec:
        return None
    start = pstt.scheduler_metrics.last_success(schedule.id) or parse_time(schedule.created_at)
    if start is None:
        return None
    limit = start + timedelta(seconds=schedule.max_staleness_sec)
    return limit if now > limit else None


def stale_schedules(pstt: Pstt, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Every stale schedule: ``{id: {"since", "last_success_at", "max_staleness_sec"}}``."""
    now = now or datetime.now(timezone.utc)
    schedules, _invalid = pstt.schedules.load()
    out = {}
    for sid, sched in schedules.items():
        since = stale_since(pstt, sched, now)
        if since is not None:
            out[sid] = {"since": iso(since), "max_staleness_sec": sched.max_staleness_sec,
                        "last_success_at": iso(pstt.scheduler_metrics.last_success(sid))}
    return out


def check(pstt: Pstt) -> list[str]:
    """Record and announce schedules that became stale; forget those that recovered.
    Returns the ids newly found stale."""
    stale = stale_schedules(pstt)
    state = pstt.plugin_env(CORE).state
    fresh: list[str] = []

    def change(current: Any) -> dict[str, Any]:
        known = dict(current) if isinstance(current, dict) else {}
        kept = {sid: info for sid, info in known.items() if sid in stale}
        for sid, info in stale.items():
            if sid not in kept:
                kept[sid] = {**info, "recorded_at": iso(datetime.now(timezone.utc))}
                fresh.append(sid)
        return kept

    state.update(MEMBER, change, {})
    for sid in fresh:
        info = stale[sid]
        log.warning("schedule %s is stale: no successful run since %s (max_staleness_sec=%g)",
                    sid, info["last_success_at"] or "it was created", info["max_staleness_sec"])
        try:
            schedule = pstt.schedules.get(sid)
        except Exception:  # deleted meanwhile
            continue
        pstt.hooks.notify("schedule_stale", schedule=schedule, stale=dict(info), pstt=pstt,
                          env_for=pstt.plugin_env)
    return fresh
