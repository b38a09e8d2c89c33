"""Result gates: a schedule's ``on_empty``, ``min_rows`` and ``max_rows``, checked by the
pipeline for every sharing mode before the delivery becomes visible.

The pipeline checks ``max_rows`` after each batch (a run stops as soon as it has more rows)
and every gate once the result is read, before ``sink.close()`` — which is where the
filesystem sink renames its file and the e-mail sink sends. A gate that stops the run calls
``sink.abort()`` instead, so nothing is published. A sharing mode whose rows are visible as
they are written (:attr:`SinkType.streams_rows`, e.g. Kafka) cannot honour ``min_rows`` /
``max_rows``; such schedules are refused when saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import PsttError
from .models import RunStatus, Schedule

ON_EMPTY = ("send", "skip", "fail")


class GateStopped(PsttError):
    """A gate stopped the run before delivery: recorded as ``status`` with the reason."""

    def __init__(self, status: RunStatus, reason: str):
        super().__init__(reason)
        self.status: RunStatus = status
        self.reason = reason


def check_batch(schedule: Schedule, rows: int) -> None:
    """After each batch: more rows than ``max_rows`` stop the run at once."""
    if schedule.max_rows is not None and rows > schedule.max_rows:
        raise GateStopped("failed", f"result gate: more than max_rows ({schedule.max_rows}) "
                                    f"rows ({rows} read so far); nothing was delivered")


def check_result(schedule: Schedule, rows: int) -> None:
    """Once the whole result is read, before it is delivered."""
    if rows == 0 and schedule.on_empty != "send":
        status: RunStatus = "skipped" if schedule.on_empty == "skip" else "failed"
        raise GateStopped(status, f"result gate: the query returned no rows "
                                  f"(on_empty: {schedule.on_empty}); nothing was delivered")
    if schedule.min_rows is not None and rows < schedule.min_rows:
        raise GateStopped("failed", f"result gate: {rows} row(s), fewer than min_rows "
                                    f"({schedule.min_rows}); nothing was delivered")
    check_batch(schedule, rows)


def validate(schedule: Schedule, streaming: str | None, fail: Callable[[str, str], None]) -> None:
    """Report bad gate fields through ``fail(field, message)``; ``streaming`` is the sink
    type's reason why its rows are visible as they are written (``None``: they are not)."""
    if schedule.on_empty not in ON_EMPTY:
        fail("on_empty", f"must be one of {', '.join(ON_EMPTY)}")
    for name in ("min_rows", "max_rows"):
        value: Any = getattr(schedule, name)
        if value is not None and value < 0:
            fail(name, "must be 0 or more (or omitted)")
        elif value is not None and streaming:
            fail(name, f"cannot be checked before delivery: {streaming}")
    if schedule.min_rows is not None and schedule.max_rows is not None \
            and schedule.min_rows > schedule.max_rows:
        fail("max_rows", f"must be at least min_rows ({schedule.min_rows})")
