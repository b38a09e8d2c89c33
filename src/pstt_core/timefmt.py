"""How times are shown to people: one format (``2026-01-21 08:00:00 CET``, 24 h) in one zone.

The zone is ``PSTT_DISPLAY_TIMEZONE`` (an IANA name), by default the server's own zone.
Pages, the CLI and the Kafka dashboard's script all use it, so one page never mixes
``UTC+01:00`` with ``UTC`` or a 12-hour clock with a 24-hour one. Stored times (history,
schedules, the API) stay ISO 8601 with their offset.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping
from datetime import datetime, timezone, tzinfo
from typing import Any

from .errors import ConfigError

FORMAT = "%Y-%m-%d %H:%M:%S"


@functools.cache
def server_zone_name() -> str:
    """The IANA name of the machine's zone (``Europe/Rome``), ``UTC`` if it has none."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # no zone configured on the machine, or an unusual one
        return "UTC"
    return name if name and name in all_zone_names() else "UTC"


@functools.cache
def all_zone_names() -> tuple[str, ...]:
    """Every IANA zone name known to this Python (tzdata), sorted, for drop-downs."""
    return tuple(sorted(zoneinfo.available_timezones()))


def zone(name: str, *, setting: str | None = None) -> tzinfo:
    """The zone called ``name``; a ConfigError naming ``setting`` (or the name) otherwise."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        what = f"{setting}={name!r}" if setting else f"time zone {name!r}"
        raise ConfigError(f"{what} is not a known time zone; use an IANA name like "
                          "Europe/Rome or UTC") from None


def display_zone(settings: Mapping[str, Any]) -> tzinfo:
    """``PSTT_DISPLAY_TIMEZONE``, else the server's zone."""
    name = str(settings.get("PSTT_DISPLAY_TIMEZONE") or "") or server_zone_name()
    return zone(name, setting="PSTT_DISPLAY_TIMEZONE")


def parse_time(value: Any) -> datetime | None:
    """A datetime or ISO 8601 text as an aware datetime (naive values are UTC)."""
    if isinstance(value, datetime):
        dt = value
    elif value:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def format_time(value: Any, tz: tzinfo) -> str:
    """``2026-01-21 08:00:00 CET`` in ``tz``; ``—`` for nothing, the text itself if it is
    not a time."""
    dt = parse_time(value)
    if dt is None:
        return str(value) if value else "—"
    local = dt.astimezone(tz)
    return f"{local.strftime(FORMAT)} {local.tzname() or ''}".rstrip()


def format_schedule_time(value: Any, tz: tzinfo, schedule_zone: str) -> str:
    """A schedule's time in the display zone, followed by the same instant in the
    schedule's own zone when that differs: ``2026-12-02 05:00:00 UTC (06:00 Europe/Rome)``."""
    text = format_time(value, tz)
    dt = parse_time(value)
    if dt is None or not schedule_zone or schedule_zone == getattr(tz, "key", None):
        return text
    try:
        own = dt.astimezone(zoneinfo.ZoneInfo(schedule_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return text
    if own.utcoffset() == dt.astimezone(tz).utcoffset():
        return text
    return f"{text} ({own.strftime('%H:%M')} {schedule_zone})"
