"""Standard (Vixie) cron semantics and the DST policy of cron triggers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from croniter import croniter

from pstt_core.cron import cron_trigger, next_fire_times

START = datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("expression", [
    "0 7 * * 1-5", "0 6 * * 0", "0 6 * * 7", "0 9 1 * mon", "*/15 9-17 * * mon-fri",
    "0 0 13 * fri", "30 4 1,15 jan-mar fri-sun", "0 12 * * 5-7", "5/20 */6 * * *",
    "@weekly", "0 0 */2 * 1",
])
def test_next_30_fire_times_match_standard_cron(expression: str) -> None:
    ours = list(next_fire_times(cron_trigger(expression, "UTC"), START, 30))
    # implement_cron_bug: Vixie cron's rule that a field starting with "*" ("*/2") is
    # unrestricted for the day-of-month OR day-of-week rule
    reference = croniter(expression, START, implement_cron_bug=True)
    assert ours == [reference.get_next(datetime) for _ in range(30)]


def test_weekdays_are_monday_to_friday() -> None:
    fires = list(next_fire_times(cron_trigger("0 7 * * 1-5", "Europe/Rome"), START, 10))
    assert {f.strftime("%a") for f in fires} == {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert all(f.hour == 7 for f in fires)


def test_zero_and_seven_are_sunday() -> None:
    for expression in ("0 6 * * 0", "0 6 * * 7", "0 6 * * sun"):
        fires = list(next_fire_times(cron_trigger(expression, "UTC"), START, 5))
        assert {f.strftime("%a") for f in fires} == {"Sun"}


def test_day_of_month_or_day_of_week() -> None:
    fires = list(next_fire_times(cron_trigger("0 9 1 * mon", "UTC"), START, 8))
    assert all(f.day == 1 or f.weekday() == 0 for f in fires)
    assert fires[0] == datetime(2026, 1, 1, 9, tzinfo=timezone.utc)  # a Thursday, the 1st
    assert fires[1] == datetime(2026, 1, 5, 9, tzinfo=timezone.utc)  # the first Monday


@pytest.mark.parametrize(("expression", "message"), [
    ("0 7 * * 8", "day-of-week: 8 is out of range 0-7"),
    ("60 * * * *", "minute: 60 is out of range 0-59"),
    ("0 0 * * 5-1", "day-of-week: range '5-1' goes backwards"),
    ("0 0 30 feb *", "never fires"),
    ("*/0 * * * *", "step '0'"),
    ("0 0 L * *", "day-of-month: 'L' is not a number"),
    ("0 0 * *", "must have 5 fields"),
    ("@reboot", "unknown shorthand"),
])
def test_bad_expressions_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("*", r"\*")):
        cron_trigger(expression, "UTC")


def _fires_per_day(expression: str, tz: str, first: date, days: int) -> dict[date, list[datetime]]:
    after = datetime(first.year, first.month, first.day, tzinfo=timezone.utc) - timedelta(days=1)
    out: dict[date, list[datetime]] = {}
    for fire in next_fire_times(cron_trigger(expression, tz), after, days * 4):
        if fire.date() >= first + timedelta(days=days):
            break
        if fire.date() >= first:  # fire is in the schedule's zone: its date is the local one
            out.setdefault(fire.date(), []).append(fire)
    return out


def test_dst_autumn_repeated_time_fires_once_at_first_occurrence() -> None:
    per_day = _fires_per_day("30 2 * * *", "Europe/Rome", date(2026, 10, 24), 3)
    assert [len(v) for v in per_day.values()] == [1, 1, 1]
    change = per_day[date(2026, 10, 25)][0].astimezone(timezone.utc)
    assert change == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)  # 02:30 CEST, not CET


def test_dst_spring_missing_time_fires_once_at_next_valid_instant() -> None:
    per_day = _fires_per_day("30 2 * * *", "Europe/Rome", date(2026, 3, 28), 3)
    assert [len(v) for v in per_day.values()] == [1, 1, 1]
    change = per_day[date(2026, 3, 29)][0]
    assert change.astimezone(timezone.utc) == datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)
    assert change.strftime("%H:%M %Z") == "03:00 CEST"


def test_dst_every_15_minutes_through_both_changes() -> None:
    trigger = cron_trigger("*/15 * * * *", "Europe/Rome")
    spring = list(next_fire_times(trigger, datetime(2026, 3, 29, 0, 40, tzinfo=timezone.utc), 3))
    # 01:45 CET, then 02:00-02:45 do not exist: one fire at 03:00 CEST, then 03:15
    assert [f.strftime("%H:%M") for f in spring] == ["01:45", "03:00", "03:15"]
    autumn = list(next_fire_times(trigger, datetime(2026, 10, 25, 0, 40, tzinfo=timezone.utc), 3))
    # 02:45 CEST, then 02:00-02:45 CET were already fired once: next is 03:00 CET
    assert [f.astimezone(timezone.utc).strftime("%H:%M") for f in autumn] == ["00:45", "02:00",
                                                                              "02:15"]
    assert len({f.timestamp() for f in spring + autumn}) == 6


def test_interval_triggers_ignore_dst() -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    trigger = IntervalTrigger(hours=1, timezone="Europe/Rome",
                              start_date=datetime(2026, 10, 24, 23, tzinfo=timezone.utc))
    fires = list(next_fire_times(trigger, datetime(2026, 10, 24, 23, 30, tzinfo=timezone.utc), 4))
    gaps = {b.timestamp() - a.timestamp() for a, b in zip(fires, fires[1:], strict=False)}
    assert gaps == {3600.0}
