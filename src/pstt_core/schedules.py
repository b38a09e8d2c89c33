"""``exports/schedules.json``: schedule definitions, their validation and CRUD."""

from __future__ import annotations

import re
import zoneinfo
from typing import TYPE_CHECKING, Any

from . import gates, incremental
from .converter import structure, unstructure
from .errors import ConfigError, ConflictError, NotFoundError, StateFileError
from .models import SCHEDULE_ID_RE, Schedule, iso, utcnow
from .state import json_kind

if TYPE_CHECKING:
    from .backend import StateBackend
    from .facade import Pstt


# What a schedule's fires missed while no instance was running do (see catchup.py).
CATCHUP_MODES = ("none", "latest")

# Field of an update request (not of the schedule): forget the watermark with the change.
RESET_WATERMARK = "reset_watermark"


def slugify(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip().lower()).strip("-._")
    return slug[:64] or "schedule"


def cron_trigger(expression: str, timezone: str) -> Any:
    """The trigger of a standard (Vixie) cron expression; ``ValueError`` names the bad field."""
    from .cron import cron_trigger as standard_cron

    return standard_cron(expression, timezone)


# Bounds of the timing fields: each is what APScheduler, timedelta and the run watchdog can
# hold with room to spare, and more than any real schedule needs.
MIN_INTERVAL_SEC = 1
MAX_INTERVAL_SEC = 366 * 86400
MAX_GRACE_SEC = 366 * 86400
MAX_TIMEOUT_SEC = 366 * 86400


def _timing_problems(sched: Schedule, zone: str) -> list[tuple[str, str]]:
    """Problems of the trigger, ``timeout_sec`` and ``misfire_grace_sec``, by field."""
    problems: list[tuple[str, str]] = []
    trig = sched.trigger
    if trig.type == "cron":
        if not trig.expression:
            problems.append(("trigger.expression",
                             "a cron trigger needs an expression, e.g. '*/5 * * * *'"))
        else:
            try:
                cron_trigger(trig.expression, zone)
            except ValueError as exc:
                problems.append(("trigger.expression", str(exc)[:300]))
    else:
        parts = {"seconds": trig.seconds, "minutes": trig.minutes, "hours": trig.hours,
                 "days": trig.days}
        negative = [f"trigger.{k}" for k, v in parts.items() if v is not None and v < 0]
        problems += [(where, "must not be negative") for where in negative]
        if not negative and not MIN_INTERVAL_SEC <= trig.interval_seconds() <= MAX_INTERVAL_SEC:
            problems.append(("trigger", "an interval trigger needs a period between "
                             f"{MIN_INTERVAL_SEC} s and 366 days (seconds, minutes, hours, days)"))
    if sched.timeout_sec is not None and not 0 < sched.timeout_sec <= MAX_TIMEOUT_SEC:
        problems.append(("timeout_sec", "must be more than 0 and at most 366 days "
                         f"({MAX_TIMEOUT_SEC} s), or omitted"))
    grace = sched.misfire_grace_sec
    if grace is not None and not 1 <= grace <= MAX_GRACE_SEC:
        problems.append(("misfire_grace_sec", f"must be between 1 and {MAX_GRACE_SEC} seconds, "
                         "or null (run however late)"))
    return problems


def validate_schedule(data: Any, pstt: Pstt, *, file: str | None = None,
                      path: str = "$") -> Schedule:
    """Build a Schedule from JSON and check it against plugins and configuration."""
    if not isinstance(data, dict):
        raise ConfigError("a schedule must be an object", file=file, path=path)
    data = dict(data)
    if not data.get("id") and data.get("name"):
        data["id"] = slugify(str(data["name"]))
    # Settings supply the defaults a schedule does not set itself.
    data.setdefault("batch_size", pstt.settings["PSTT_DEFAULT_BATCH_SIZE"])
    data.setdefault("misfire_grace_sec", pstt.settings["PSTT_MISFIRE_GRACE_SEC"])
    sched = structure(data, Schedule, file=file, path=path)
    # Every problem is collected, so a form can show each next to its field at once.
    problems: list[tuple[str | None, str]] = []

    def fail(field: str, message: str) -> None:
        problems.append((f"{path}.{field}", message))

    if not SCHEDULE_ID_RE.fullmatch(sched.id):
        fail("id", "must be 1-128 characters of letters, digits, '.', '_' or '-'")
    if not sched.name.strip():
        fail("name", "must not be empty")
    if not sched.query.strip():
        fail("query", "must not be empty")
    if sched.connection not in pstt.config.databases:
        known = ", ".join(sorted(pstt.config.databases)) or "none"
        fail("connection", f"unknown database connection {sched.connection!r}; configured: {known}")
    zone = sched.timezone
    try:
        zoneinfo.ZoneInfo(sched.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail("timezone", f"unknown time zone {sched.timezone!r} (use an IANA name like Europe/Rome)")
        zone = "UTC"  # still check the trigger
    timing = _timing_problems(sched, zone)
    for field, message in timing:
        fail(field, message)
    if not timing and zone == sched.timezone:
        # build what the scheduler will build: what APScheduler refuses, we refuse
        from .scheduler import job_options

        try:
            job_options(sched)
        except (ValueError, OverflowError, TypeError, KeyError) as exc:
            fail("trigger", f"the scheduler cannot use this trigger: {exc}"[:300])
    if sched.catchup not in CATCHUP_MODES:
        fail("catchup", f"must be one of: {', '.join(CATCHUP_MODES)} (what a fire missed "
             "while no instance was running does)")
    if sched.batch_size < 1:
        fail("batch_size", "must be at least 1")
    if sched.incremental is not None:
        for field, message in incremental.check(sched.incremental, sched.query):
            fail(f"incremental.{field}", message)

    if sched.max_staleness_sec is not None and sched.max_staleness_sec <= 0:
        fail("max_staleness_sec", "must be positive (or omitted for no staleness alert)")
    sink_type = pstt.registry.sinks.get(sched.sharing_mode)
    if sink_type is None:
        known = ", ".join(sorted(pstt.registry.sinks)) or "none"
        fail("sharing_mode", f"unknown sharing mode {sched.sharing_mode!r}; installed: {known}")
    else:
        sink_type.absorb_legacy(sched)
        try:
            options = sink_type.parse_options(sched.sink_options, file=file,
                                              path=f"{path}.sink_options")
            if sink_type.validate is not None:
                try:
                    sink_type.validate(options, pstt.owner_env("sink type", sink_type.name))
                except ConfigError as exc:
                    where = f"{path}.sink_options" + (f".{exc.path}" if exc.path else "")
                    problems.append((where, exc.message))
            sched.sink_options = unstructure(options)
            streaming = sink_type.streams_rows(options) if sink_type.streams_rows else None
            gates.validate(sched, streaming, fail)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError.collect(problems, file=file)
    return sched


class ScheduleStore:
    """Schedules as stored (``exports/schedules.json``, or the state database's document
    shared by every instance); an invalid entry is kept and reported, never dropped."""

    def __init__(self, backend: StateBackend, pstt: Pstt):
        self.file = backend.document("schedules", {"schedules": []})
        self.pstt = pstt

    def _raw(self) -> list[dict[str, Any]]:
        data = self.file.load()
        if not isinstance(data, dict | list):
            raise StateFileError(f"must be an object with \"schedules\", not {json_kind(data)}",
                                 file=self.file.location, path="$")
        items = data.get("schedules", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise StateFileError(f"'schedules' must be a list, not {json_kind(items)}",
                                 file=self.file.location, path="$.schedules")
        return [dict(i) if isinstance(i, dict) else i for i in items]

    def load(self) -> tuple[dict[str, Schedule], dict[str, ConfigError]]:
        valid: dict[str, Schedule] = {}
        invalid: dict[str, ConfigError] = {}
        for i, item in enumerate(self._raw()):
            key = str(item.get("id") or f"#{i}") if isinstance(item, dict) else f"#{i}"
            try:
                sched = validate_schedule(item, self.pstt, file=self.file.location,
                                          path=f"$.schedules[{i}]")
            except ConfigError as exc:
                invalid[key] = exc
                continue
            if sched.id in valid:
                invalid[key] = ConfigError(f"duplicate schedule id {sched.id!r}",
                                           file=self.file.location, path=f"$.schedules[{i}].id")
                continue
            valid[sched.id] = sched
        return valid, invalid

    def raw(self, schedule_id: str) -> dict[str, Any] | None:
        """The entry with this id exactly as stored (also when it is invalid), or None."""
        return next((i for i in self._raw() if isinstance(i, dict) and i.get("id") == schedule_id),
                    None)

    def all(self) -> dict[str, Schedule]:
        return self.load()[0]

    def get(self, schedule_id: str) -> Schedule:
        valid, invalid = self.load()
        if schedule_id in valid:
            return valid[schedule_id]
        if schedule_id in invalid:
            raise invalid[schedule_id]
        from .backend import ignored_home_files  # here: backend imports plugin, which imports this

        ignored = ignored_home_files(self.pstt.home, self.pstt.backend)
        hint = (f" ({ignored[0]} is not used: with PSTT_STATE_URL the schedules are in the "
                "state database; `pstt state migrate --to URL` copies them there)"
                if ignored else "")
        raise NotFoundError(f"no schedule with id {schedule_id!r}{hint}")

    def _write(self, items: list[dict[str, Any]]) -> None:
        data = self.file.load()
        if isinstance(data, dict):
            self.file.save({**data, "schedules": items})
        else:
            self.file.save({"schedules": items})

    def create(self, data: dict[str, Any]) -> Schedule:
        with self.file.lock:
            items = self._raw()
            sched = validate_schedule(data, self.pstt, path="$")
            if any(isinstance(i, dict) and i.get("id") == sched.id for i in items):
                raise ConflictError(f"a schedule with id {sched.id!r} already exists")
            sched.created_at = sched.updated_at = iso(utcnow())
            items.append(unstructure(sched))
            self._write(items)
            return sched

    def update(self, schedule_id: str, data: dict[str, Any]) -> Schedule:
        """Replace a schedule; ``"reset_watermark": true`` in ``data`` forgets its watermark
        with the change (needed to change an incremental cursor that has one)."""
        data = dict(data)
        reset = data.pop(RESET_WATERMARK, False) is True
        with self.file.lock:
            items = self._raw()
            for i, item in enumerate(items):
                if isinstance(item, dict) and item.get("id") == schedule_id:
                    merged = {**data, "id": schedule_id}
                    sched = validate_schedule(merged, self.pstt, path="$")
                    incremental.check_change(self.pstt.watermarks, sched, reset)
                    sched.created_at = item.get("created_at") or iso(utcnow())
                    sched.updated_at = iso(utcnow())
                    items[i] = unstructure(sched)
                    self._write(items)
                    if reset:
                        self.pstt.watermarks.reset(schedule_id)
                    return sched
            raise NotFoundError(f"no schedule with id {schedule_id!r}")

    def patch(self, schedule_id: str, changes: dict[str, Any]) -> Schedule:
        with self.file.lock:
            current = next((i for i in self._raw() if isinstance(i, dict) and i.get("id") == schedule_id), None)
            if current is None:
                raise NotFoundError(f"no schedule with id {schedule_id!r}")
            current.pop(RESET_WATERMARK, None)
            return self.update(schedule_id, {**current, **changes})

    def delete(self, schedule_id: str) -> None:
        with self.file.lock:
            items = self._raw()
            kept = [i for i in items if not (isinstance(i, dict) and i.get("id") == schedule_id)]
            if len(kept) == len(items):
                raise NotFoundError(f"no schedule with id {schedule_id!r}")
            self._write(kept)
        self.pstt.watermarks.reset(schedule_id)  # a new schedule of this id starts afresh
