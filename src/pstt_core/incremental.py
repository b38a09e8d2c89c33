"""Incremental schedules: the query of one increment, and the watermark its rows reach.

A run of an incremental schedule delivers the rows whose cursor is after the watermark
(``(column, tiebreaker)`` compared as a pair when there is a tiebreaker) and, with
``delay_sec``, not later than the database's clock minus ``delay_sec``. PSTT wraps the
schedule's query::

    SELECT * FROM (<query>) AS pstt_src WHERE <cursor predicate> ORDER BY <cursor>

or, when the query binds ``:pstt_low`` / ``:pstt_high`` itself, only binds them. The
watermark the run reaches is the cursor of the last row handed to the sink; it is committed
with the run's record only when the run succeeded (see :mod:`pstt_core.journal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ConfigError, PsttError
from .models import Incremental, RunInfo, Schedule
from .parameters import referenced
from .watermarks import Mark, Watermark, WatermarkStore, parse_mark_input, user_value

if TYPE_CHECKING:  # SQLAlchemy is imported when a run plans its query, not with the schedules
    import sqlalchemy as sa

# Bind parameters of incremental schedules that write their own predicate.
PARAMETERS = ("pstt_low", "pstt_low_tiebreaker", "pstt_high")
ALIAS = "pstt_src"


@attrs.frozen
class Window:
    """A backfill: the rows with ``low <= cursor < high`` (either end open when ``None``)."""

    low: Any = None
    high: Any = None


def own_predicate(query: str) -> bool:
    """Does the query place the cursor predicate itself (binds ``:pstt_low``/``:pstt_high``)?"""
    return bool(referenced(query) & {"pstt_low", "pstt_high"})


def check(inc: Incremental, query: str) -> list[tuple[str, str]]:
    """Problems of an ``incremental`` block: ``(field, message)``."""
    problems = []
    if not inc.column.strip():
        problems.append(("column", "must name the cursor column"))
    if inc.tiebreaker is not None and not inc.tiebreaker.strip():
        problems.append(("tiebreaker", "must name a column (or be left out)"))
    if inc.tiebreaker and inc.tiebreaker == inc.column:
        problems.append(("tiebreaker", "must be another column than the cursor"))
    if inc.delay_sec is not None and inc.delay_sec < 0:
        problems.append(("delay_sec", "must be 0 or more seconds"))
    if inc.start is not None:
        if isinstance(inc.start, bool) or not isinstance(inc.start, str | int | float):
            problems.append(("start", "must be a time (ISO-8601 text), a number or text"))
        else:
            try:
                user_value(inc.start)
            except ValueError as exc:
                problems.append(("start", str(exc)))
    names = referenced(query)
    if own_predicate(query):
        if "pstt_low" in names and inc.start is None:
            problems.append(("start", "is needed when the query binds :pstt_low (it is "
                                      ":pstt_low on the first run)"))
        if "pstt_high" in names and inc.delay_sec is None:
            problems.append(("delay_sec", "is needed when the query binds :pstt_high "
                                          "(the database's clock minus delay_sec)"))
        if "pstt_low_tiebreaker" in names and not inc.tiebreaker:
            problems.append(("tiebreaker", "is needed when the query binds "
                                           ":pstt_low_tiebreaker"))
    elif "pstt_low_tiebreaker" in names:
        problems.append(("tiebreaker", "the query binds :pstt_low_tiebreaker without "
                                       ":pstt_low"))
    return problems


@attrs.define
class Plan:
    """The statement of one increment and the values it binds."""

    sql: str
    values: dict[str, Any]
    column: str
    tiebreaker: str | None


def _clock(conn: sa.Connection, delay: float) -> Any:
    """The database's clock minus ``delay`` seconds, as the database writes its times."""
    import sqlalchemy as sa

    dialect = conn.dialect.name
    if dialect == "sqlite":
        # ISO text in UTC, the form of the demo data and of PSTT's own times
        return conn.execute(sa.text("SELECT strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', :m)"),
                            {"m": f"-{delay:.6f} seconds"}).scalar_one()
    expr = "NOW(6)" if dialect in ("mysql", "mariadb") else "CURRENT_TIMESTAMP"
    now = conn.execute(sa.text(f"SELECT {expr}")).scalar_one()
    if isinstance(now, str):  # a driver that returns text
        now = datetime.fromisoformat(now)
    return now - timedelta(seconds=delay)


def plan(conn: sa.Connection, run: RunInfo) -> Plan:
    """The statement of ``run`` (an incremental schedule's run)."""
    schedule = run.schedule
    inc = schedule.incremental
    assert inc is not None
    stored = run.watermark
    if isinstance(stored, Exception):
        raise PsttError(f"the watermark cannot be read, so the run does not know where to "
                        f"start: {stored}")
    if stored is not None and (stored.column, stored.tiebreaker) != (inc.column, inc.tiebreaker):
        raise PsttError(
            f"the watermark of schedule {schedule.id!r} is for column {stored.column!r}"
            + (f" (tiebreaker {stored.tiebreaker!r})" if stored.tiebreaker else "")
            + f" but the schedule now uses {inc.column!r}"
            + (f" (tiebreaker {inc.tiebreaker!r})" if inc.tiebreaker else "")
            + f": reset it (pstt watermark reset {schedule.id}) or set it")
    mark: Mark | None = stored.mark if stored is not None else None
    window: Window | None = run.window
    like = mark.value if mark else None
    start = user_value(inc.start, like=like) if inc.start is not None else None
    high = _clock(conn, inc.delay_sec) if inc.delay_sec is not None else None
    values: dict[str, Any] = {}
    if window is not None:
        low, low_tb, inclusive = window.low, None, True
        if window.high is not None:
            high = window.high
    elif mark is not None:
        low, low_tb, inclusive = mark.value, mark.tiebreaker, False
    else:
        low, low_tb, inclusive = start, None, True
    values.update(pstt_low=low, pstt_low_tiebreaker=low_tb, pstt_high=high)
    if own_predicate(schedule.query):
        return Plan(schedule.query, values, inc.column, inc.tiebreaker)
    quote = conn.dialect.identifier_preparer.quote
    col = quote(inc.column)
    where = [f"{col} IS NOT NULL"]
    if low is not None:
        if inclusive:
            where.append(f"{col} >= :pstt_low")
        elif low_tb is not None and inc.tiebreaker:
            tb = quote(inc.tiebreaker)
            where.append(f"({col} > :pstt_low OR ({col} = :pstt_low AND "
                         f"{tb} > :pstt_low_tiebreaker))")
        else:
            where.append(f"{col} > :pstt_low")
    if high is not None:
        # a backfill's end is exclusive; the clock bound includes rows stamped at it
        where.append(f"{col} < :pstt_high" if window is not None and window.high is not None
                     else f"{col} <= :pstt_high")
    order = col + (f", {quote(inc.tiebreaker)}" if inc.tiebreaker else "")
    inner = schedule.query.strip().rstrip(";").rstrip()
    sql = (f"SELECT * FROM (\n{inner}\n) AS {ALIAS}\nWHERE {' AND '.join(where)}\n"
           f"ORDER BY {order}")
    return Plan(sql, values, inc.column, inc.tiebreaker)


class Tracker:
    """Follows the cursor of the rows handed to the sink."""

    def __init__(self, plan: Plan, columns: Sequence[str]):
        self.index = _index(columns, plan.column, "column")
        self.tb_index = _index(columns, plan.tiebreaker, "tiebreaker") \
            if plan.tiebreaker else None
        self.last: Mark | None = None

    def see(self, rows: Sequence[Sequence[Any]]) -> None:
        """Note the last row of a batch (rows come in cursor order)."""
        for row in reversed(rows):
            value = row[self.index]
            if value is None:
                continue  # the own-predicate form may let NULL cursors through
            tb = row[self.tb_index] if self.tb_index is not None else None
            self.last = Mark(value, tb)
            return


def _index(columns: Sequence[str], name: str | None, field: str) -> int:
    assert name is not None
    for i, col in enumerate(columns):
        if col == name:
            return i
    folded = [i for i, col in enumerate(columns) if col.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise PsttError(f"incremental.{field} {name!r} is not a column of the query's result "
                    f"(columns: {', '.join(columns)})")


def mark_fields(column: str, tiebreaker: str | None, mark: Mark | None) -> dict[str, Any] | None:
    """A mark as the run record and the API show it: the column names beside the values."""
    if mark is None:
        return None
    return {"column": column, **({"tiebreaker": tiebreaker} if tiebreaker else {}),
            **mark.to_json()}


def record_fields(run: RunInfo, tracker: Tracker | None) -> dict[str, Any]:
    """``watermark_from`` / ``watermark_to`` of the run record: where the run started (the
    stored watermark; ``None``: none yet, or a backfill's open start) and the cursor of the
    last row delivered (the start when none was). A backfill adds ``backfill``."""
    inc = run.schedule.incremental
    assert inc is not None
    window: Window | None = run.window
    if window is not None:
        start = Mark(window.low) if window.low is not None else None
    else:
        start = run.watermark.mark if isinstance(run.watermark, Watermark) else None
    end = tracker.last if tracker is not None and tracker.last is not None else start
    fields: dict[str, Any] = {
        "watermark_from": mark_fields(inc.column, inc.tiebreaker, start),
        "watermark_to": mark_fields(inc.column, inc.tiebreaker, end)}
    if window is not None:
        fields["backfill"] = {"from": Mark(window.low).to_json() if window.low is not None
                              else None,
                              "to": Mark(window.high).to_json() if window.high is not None
                              else None}
    return fields


# -- the operations of the CLI and the API ---------------------------------------------
def _incremental(schedule: Schedule) -> Incremental:
    if schedule.incremental is None:
        raise ConfigError(f"schedule {schedule.id!r} is not incremental (it has no "
                          "\"incremental\" cursor)")
    return schedule.incremental


def watermark_view(schedule: Schedule, stored: Watermark | None) -> dict[str, Any]:
    """``GET /api/schedules/{id}/watermark`` and ``pstt watermark show --json``."""
    inc = _incremental(schedule)
    return {"schedule_id": schedule.id, "column": inc.column, "tiebreaker": inc.tiebreaker,
            "start": inc.start,
            "watermark": stored.mark.to_json() if stored else None,
            "updated_at": stored.updated_at if stored else None,
            "export_id": stored.export_id if stored else None,
            "source": stored.source if stored else None}


def set_watermark(store: WatermarkStore, schedule: Schedule, data: Any) -> Watermark:
    """Put the watermark where ``data`` says (``{"value", "type"?, "tiebreaker_value"?,
    "tiebreaker_type"?}``); a ``ConfigError`` names the bad field."""
    inc = _incremental(schedule)
    current = store.get(schedule.id)
    like = current.mark if current is not None and current.column == inc.column else None
    mark = parse_mark_input(data, like=like)
    if mark.tiebreaker is not None and not inc.tiebreaker:
        raise ConfigError("the schedule has no incremental.tiebreaker", path="$.tiebreaker_value")
    return store.set(schedule.id, column=inc.column, tiebreaker=inc.tiebreaker, mark=mark)


def backfill_window(schedule: Schedule, stored: Watermark | None, low: Any,
                    high: Any) -> Window:
    """The window of a backfill from what a person wrote (``--from``/``--to``, the API's
    ``from``/``to``): values of the watermark's type, else of the type they look like."""
    _incremental(schedule)
    if low is None and high is None:
        raise ConfigError("a backfill needs from, to or both", path="$.from")
    like = stored.mark.value if stored is not None else None
    bounds: list[Any] = []
    for field, raw in (("from", low), ("to", high)):
        if raw is None:
            bounds.append(None)
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ConfigError("must be a time (ISO-8601 text), a number or text",
                              path=f"$.{field}")
        try:
            bounds.append(user_value(raw, like=like))
        except ValueError as exc:
            raise ConfigError(str(exc), path=f"$.{field}") from None
    return Window(*bounds)


def check_change(store: WatermarkStore, new: Schedule, reset: bool) -> None:
    """Refuse a cursor other than the one of the schedule's watermark unless the watermark
    is reset in the same request (``"reset_watermark": true``): the mark belongs to the
    old cursor."""
    if new.incremental is None or reset:
        return
    stored = store.get(new.id)
    pair = (new.incremental.column, new.incremental.tiebreaker)
    if stored is not None and (stored.column, stored.tiebreaker) != pair:
        raise ConfigError("the schedule has a watermark on "
                          f"{stored.column!r}" + (f" + {stored.tiebreaker!r}"
                                                  if stored.tiebreaker else "")
                          + ": changing the cursor needs \"reset_watermark\": true in the "
                          "same request (the next run then starts from start)",
                          path="$.incremental.column")
