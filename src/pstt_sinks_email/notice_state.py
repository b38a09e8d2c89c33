"""Per-schedule notice state (``env.state`` member ``notices`` of the e-mail plugin): whether
a schedule is failing, when its last failure notice went out and how many failures were held
back since. Kept across processes and restarts, updated under the state lock."""

from __future__ import annotations

import time
from typing import Any

from pstt_core import PluginEnv

MEMBER = "notices"


def failed(env: PluginEnv, schedule_id: str, interval: float) -> tuple[bool, int]:
    """Count a failure; ``(send now, failures held back before it)``. Until a notice of the
    streak was delivered every failure is due; then at most one per ``interval`` seconds.
    The caller reports the outcome with :func:`delivered` or :func:`held_back`."""
    now = time.time()
    decision: dict[str, Any] = {}

    def change(entry: dict[str, Any]) -> None:
        last = float(entry.get("last_notice_at") or 0.0)
        due = not last or interval <= 0 or now - last >= interval
        decision.update(due=due, missed=int(entry.get("held_back") or 0))
        entry.update(failing=True, failures=int(entry.get("failures") or 0) + 1)
        if not due:
            entry["held_back"] = decision["missed"] + 1

    _update(env, schedule_id, change)
    return bool(decision["due"]), int(decision["missed"]) if decision["due"] else 0


def delivered(env: PluginEnv, schedule_id: str) -> None:
    """A failure notice went out: the interval starts now, nothing is held back."""
    now = time.time()
    _update(env, schedule_id, lambda entry: entry.update(last_notice_at=now, held_back=0))


def held_back(env: PluginEnv, schedule_id: str) -> None:
    """A due notice could not be delivered: the next failure tries again and counts it."""
    _update(env, schedule_id,
            lambda entry: entry.update(held_back=int(entry.get("held_back") or 0) + 1))


def _update(env: PluginEnv, schedule_id: str, change: Any) -> None:
    def apply(current: Any) -> dict[str, Any]:
        doc = dict(current) if isinstance(current, dict) else {}
        entry = dict(doc.get(schedule_id) or {})
        change(entry)
        doc[schedule_id] = entry
        return doc

    env.state.update(MEMBER, apply, {})


def recovered(env: PluginEnv, schedule_id: str) -> int:
    """A success: the number of failures of the streak it ends (0: it was not failing)."""
    if not (env.state.get(MEMBER, {}) or {}).get(schedule_id, {}).get("failing"):
        return 0  # the usual case: no write
    ended: list[int] = []

    def change(current: Any) -> dict[str, Any]:
        doc = dict(current) if isinstance(current, dict) else {}
        entry = doc.pop(schedule_id, None) or {}
        ended.append(int(entry.get("failures") or 0) if entry.get("failing") else 0)
        return doc

    env.state.update(MEMBER, change, {})
    return ended[0] if ended else 0
