"""Standard (Vixie) cron expressions on top of APScheduler 3.

APScheduler's ``CronTrigger.from_crontab`` numbers weekdays from Monday = 0 and requires
day-of-month *and* day-of-week to match. Cron users mean something else, so the five fields
are parsed here with cron's own rules and handed to APScheduler as explicit values:

- ``minute hour day-of-month month day-of-week``; ``*``, lists, ranges, steps
  (``*/15``, ``1-5/2``, ``10/5`` = ``10-max/5``); month names ``jan``–``dec`` and weekday
  names ``sun``–``sat``; day-of-week 0–7 with 0 and 7 = Sunday; the ``@hourly`` …
  ``@yearly`` shorthands.
- A restricted day-of-month and a restricted day-of-week (neither starts with ``*``) match
  when *either* matches: two APScheduler triggers combined with ``OrTrigger``.

Fire times are computed on the wall clock and only then placed in the schedule's time zone
(:class:`WallClockTrigger`), which is where the DST policy lives: a wall-clock time that
occurs twice fires once, at its first occurrence; a time that does not exist fires once, at
the first valid instant after it.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# Days in each month at most (February: leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class _Field:
    def __init__(self, name: str, low: int, high: int, names: tuple[str, ...] = (),
                 first_name: int = 0):
        self.name, self.low, self.high = name, low, high
        self.names = {n: i + first_name for i, n in enumerate(names)}

    def number(self, text: str) -> int:
        word = text.lower()
        if word in self.names:
            return self.names[word]
        if not text.isdigit():
            hint = f" or a name ({', '.join(self.names)})" if self.names else ""
            raise ValueError(f"{self.name}: {text!r} is not a number{hint}")
        value = int(text)
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name}: {value} is out of range {self.low}-{self.high}")
        return value

    def parse(self, text: str) -> set[int]:
        values: set[int] = set()
        for item in text.split(","):
            if not item:
                raise ValueError(f"{self.name}: empty item in {text!r}")
            values |= self._item(item)
        return values

    def _item(self, item: str) -> set[int]:
        span, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{self.name}: step {step_text!r} in {item!r} must be a "
                                 "positive number")
            step = int(step_text)
        if span == "*":
            low, high = self.low, self.high
        elif "-" in span:
            start, _, end = span.partition("-")
            low, high = self.number(start), self.number(end)
            if self.high == 7 and high == 0 < low:  # "fri-sun": Sunday as 7 ends the range
                high = 7
            if low > high:
                raise ValueError(f"{self.name}: range {span!r} goes backwards")
        else:
            low = self.number(span)
            # ``10/5`` is cron shorthand for ``10-max/5``
            high = self.high if step_text else low
        return set(range(low, high + 1, step))


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS, first_name=1),
    _Field("day-of-week", 0, 7, WEEKDAYS),
)


class CronExpression:
    """A parsed five-field cron expression: the set of values each field allows.

    :param expression: the text as written (``"0 7 * * 1-5"``, ``"@daily"``).
    :raises ValueError: with the field and what is wrong with it.
    """

    def __init__(self, expression: str):
        self.expression = expression
        text = MACROS.get(expression.strip().lower(), expression)
        if text.startswith("@"):
            raise ValueError(f"cron expression {expression!r}: unknown shorthand; use one of "
                             f"{', '.join(MACROS)} or five fields")
        parts = text.split()
        if len(parts) != 5:
            raise ValueError(f"cron expression {expression!r} must have 5 fields "
                             "(minute hour day-of-month month day-of-week)")
        self.minutes, self.hours, self.days, self.months, weekdays = (
            field.parse(part) for field, part in zip(FIELDS, parts, strict=True))
        self.weekdays = {d % 7 for d in weekdays}  # 7 is Sunday too
        # Vixie cron: a field that starts with "*" is unrestricted for the either/or rule.
        self.days_restricted = not parts[2].startswith("*")
        self.weekdays_restricted = not parts[4].startswith("*")
        if not self.weekdays_restricted or not self.days_restricted:
            longest = max(_MONTH_DAYS[m - 1] for m in self.months)
            if self.days_restricted and min(self.days) > longest:
                raise ValueError(f"cron expression {expression!r} never fires: no month of "
                                 f"{parts[3]!r} has day {min(self.days)}")

    def _aps(self, *, days: bool, weekdays: bool) -> CronTrigger:
        def listed(values: set[int]) -> str:
            return ",".join(str(v) for v in sorted(values))

        return CronTrigger(
            minute=listed(self.minutes), hour=listed(self.hours), month=listed(self.months),
            day=listed(self.days) if days else "*",
            # names, not numbers: APScheduler counts weekdays from Monday = 0
            day_of_week=",".join(WEEKDAYS[d] for d in sorted(self.weekdays))
            if weekdays else "*",
            timezone=timezone.utc)  # wall-clock time: see WallClockTrigger

    def wall_clock_trigger(self) -> BaseTrigger:
        """An APScheduler trigger over naive wall-clock time (expressed as UTC)."""
        if self.days_restricted and self.weekdays_restricted:
            return OrTrigger([self._aps(days=True, weekdays=False),
                              self._aps(days=False, weekdays=True)])
        # Otherwise both must match, as written: "*/2" in one field still counts there.
        return self._aps(days=True, weekdays=True)


def _exists(wall: datetime, tz: zoneinfo.ZoneInfo) -> bool:
    local = wall.replace(tzinfo=tz)
    return local.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) == wall


def to_instant(wall: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """The instant a naive wall-clock time stands for under the DST policy.

    A time that occurs twice is its first occurrence (``fold=0``); a time skipped by the
    spring change becomes the first valid instant after it (the end of the gap).
    """
    if _exists(wall, tz):
        return wall.replace(tzinfo=tz, fold=0)
    probe = wall.replace(second=0, microsecond=0)
    for _ in range(24 * 60):  # real gaps are an hour or less and end on a minute
        probe += timedelta(minutes=1)
        if _exists(probe, tz):
            return probe.replace(tzinfo=tz)
    raise ValueError(f"no valid time after {wall} in {tz}")  # pragma: no cover


class WallClockTrigger(BaseTrigger):
    """Fires at a cron expression's wall-clock times in ``tz``, with the DST policy applied.

    The inner APScheduler trigger runs on naive wall-clock time; each wall time it yields is
    placed in the zone by :func:`to_instant`, and an instant not after the previous one (the
    second occurrence of a repeated time, or several skipped times that all land on the end
    of a gap) is passed over.
    """

    __slots__ = ("cron", "tz", "inner")

    def __init__(self, cron: CronExpression, tz: zoneinfo.ZoneInfo):
        self.cron = cron
        self.tz = tz
        self.inner = cron.wall_clock_trigger()

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        return self.tz

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz).replace(tzinfo=timezone.utc, fold=0)

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        # APScheduler's rule: resume after the previous fire, or at ``now`` if that is earlier
        # (a coalesced misfire is then still seen as due).
        start = now
        if previous_fire_time is not None:
            start = min(now, previous_fire_time + timedelta(microseconds=1))
        wall: datetime | None = self._wall(start) - timedelta(microseconds=1)
        # An hour repeated at the autumn change maps back on wall times already passed; a
        # handful of steps always reaches a new instant.
        for _ in range(10_000):
            assert wall is not None
            wall = self.inner.get_next_fire_time(wall, wall + timedelta(microseconds=1))
            if wall is None:
                return None
            instant = to_instant(wall.replace(tzinfo=None), self.tz)
            # compared as timestamps: datetimes sharing a tzinfo compare by wall time,
            # ignoring fold, which is exactly what differs around the autumn change
            at = instant.timestamp()
            if at >= start.timestamp() and (previous_fire_time is None
                                             or at > previous_fire_time.timestamp()):
                return instant
        return None  # pragma: no cover

    def __str__(self) -> str:
        return f"cron[{self.cron.expression}]"

    def __repr__(self) -> str:
        return f"<WallClockTrigger ({self.cron.expression!r}, timezone='{self.tz}')>"


def cron_trigger(expression: str, tz_name: str) -> WallClockTrigger:
    """The APScheduler trigger for a standard cron expression in the IANA zone ``tz_name``."""
    return WallClockTrigger(CronExpression(expression), zoneinfo.ZoneInfo(tz_name))


def next_fire_times(trigger: Any, after: datetime, count: int) -> Iterator[datetime]:
    """The next ``count`` fire times of an APScheduler trigger strictly after ``after``
    (fewer if the trigger ends, or its next time would lie beyond year 9999)."""
    previous: datetime | None = None
    now = after + timedelta(microseconds=1)
    for _ in itertools.repeat(None, count):
        try:
            nxt = trigger.get_next_fire_time(previous, now)
        except (OverflowError, ValueError):  # "year 12978 is out of range"
            return
        if nxt is None:
            return
        yield nxt
        previous = now = nxt
