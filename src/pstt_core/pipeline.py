"""One run: query → sink in batches → run record.

Memory is bounded by the batch size: rows are fetched with a server-side / streaming cursor
(``stream_results`` + ``yield_per``) and handed to the sink one batch at a time.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import gates, incremental
from .columnar.source import (
    AdbcTarget,
    ArrowSource,
    MixedTypes,
    SourceFailed,
    SourceRefused,
    Unverified,
    positional,
)
from .control import INTERRUPT, TIMEOUT, RunControl
from .databases import describe_db_error
from .errors import PsttError
from .models import RunInfo, RunRecord, cap_error, iso, utcnow
from .parameters import bind, referenced
from .sinks import Sink, SinkResult
from .timeouts import bounded

if TYPE_CHECKING:  # imported by the row path: the columnar path may never need SQLAlchemy
    import sqlalchemy as sa

    from .facade import Pstt

log = logging.getLogger("pstt.pipeline")

# Bind parameters a query may use (incremental schedules add incremental.PARAMETERS).
PARAMETERS = ("run_time", "last_success_at", "export_id", "schedule_id")

Progress = Callable[[int], None]

# What ``rows_delivered`` is when the sink does not say: all rows, or none (a failed or
# interrupted run's sink was aborted, which undoes its output). A ``partial`` run without the
# sink's own count records none rather than a guess.
DELIVERED_BY_STATUS = ("success", "failed", "interrupted")


def check_parameters(run: RunInfo) -> None:
    """Refuse a query that binds a parameter PSTT does not provide (before connecting)."""
    known = PARAMETERS + (incremental.PARAMETERS if run.schedule.incremental else ())
    unknown = referenced(run.schedule.query) - set(known)
    if unknown:
        hint = "" if run.schedule.incremental or not unknown & set(incremental.PARAMETERS) \
            else " (:pstt_low, :pstt_low_tiebreaker and :pstt_high are bound for incremental " \
                 "schedules only)"
        raise PsttError(f"the query uses parameter(s) {', '.join(':' + n for n in sorted(unknown))} "
                        f"that PSTT does not provide; available: {', '.join(':' + p for p in known)}"
                        + hint)


def statement(conn: sa.Connection, run: RunInfo) -> tuple[sa.TextClause, dict[str, Any],
                                                            incremental.Plan | None]:
    """The statement a run executes on ``conn``, its parameters, and for an incremental
    schedule the plan whose cursor the delivered rows move (see :mod:`pstt_core.incremental`)."""
    check_parameters(run)
    values: dict[str, Any] = {"run_time": run.export_timestamp, "last_success_at": run.last_success_at,
                              "export_id": run.export_id, "schedule_id": run.schedule.id}
    plan = incremental.plan(conn, run) if run.schedule.incremental else None
    if plan is None:
        return (*bind(conn, run.schedule.query, values), None)
    return (*bind(conn, plan.sql, {**values, **plan.values}), plan)


def batches(result: sa.CursorResult[Any], size: int) -> Iterator[Sequence[Sequence[Any]]]:
    """The result in lists of at most ``size`` rows, streamed from the (server-side) cursor.

    When SQLAlchemy would hand the driver's values through unchanged (no result processors,
    the case for ``text()`` queries), the driver's own row tuples are taken from the fetch
    strategy SQLAlchemy itself uses — same values, same streaming and buffering, without
    building a ``Row`` per row (a third of the time of a plain SQLite → CSV export).
    Otherwise, or on an SQLAlchemy without these internals, ``Result.partitions`` is used.
    """
    strategy = getattr(result, "cursor_strategy", None)
    processors = getattr(getattr(result, "_metadata", None), "_processors", None)
    fetchmany = getattr(strategy, "fetchmany", None)
    if fetchmany is None or processors is None or any(p is not None for p in processors) \
            or getattr(result._metadata, "_tuplefilter", None) is not None:
        yield from result.partitions(size)
        return
    cursor = result.cursor
    # A short fetch soft-closes the result (and its cursor): stop there instead of asking a
    # closed server-side cursor for more, which psycopg refuses.
    while not result._soft_closed:
        part = fetchmany(result, cursor, size)
        if not part:
            return
        yield part


def _error_text(exc: BaseException) -> str:
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.SQLAlchemyError):
        return "SQL error: " + describe_db_error(exc)
    if isinstance(exc, PsttError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class RunStopped(PsttError):
    """Raised between batches once the run's control says stop (timeout, signal)."""


# A sink's progress (rows so far, what it confirmed delivered) goes to the run journal.
Checkpoint = Callable[[int, dict[str, Any]], None]


def execute(pstt: Pstt, run: RunInfo, *, progress: Progress | None = None,
            control: RunControl | None = None, checkpoint: Checkpoint | None = None) -> RunRecord:
    """Run one schedule to completion and return its record (never raises for run errors).

    :param control: stops the run from outside (its timeout, a signal); default: one with
        the schedule's ``timeout_sec`` / ``PSTT_RUN_TIMEOUT_SEC``.
    :param checkpoint: called after each batch with the rows so far and the sink's
        :meth:`~pstt_core.sinks.Sink.progress_fields`.
    """
    schedule = run.schedule
    started: datetime = run.export_timestamp
    t0 = time.perf_counter()
    record = RunRecord(export_id=run.export_id, schedule_id=schedule.id,
                       sharing_mode=schedule.sharing_mode, status="running",
                       started_at=iso(started) or "", schedule_name=schedule.name,
                       trigger=run.trigger, scheduled_at=iso(run.scheduled_at))
    if control is None:
        control = RunControl(run_timeout(pstt, run))
    control.start_watchdog()
    sink: Sink | None = None
    candidate: Sink | None = None  # made for the columnar path, not opened: the row path's
    tracker: incremental.Tracker | None = None
    rows = 0
    try:
        sink_type = pstt.registry.sink(schedule.sharing_mode)
        options = sink_type.parse_options(schedule.sink_options)
        check_parameters(run)
        batch = schedule.batch_size
        seconds = lambda: control.remaining(time.perf_counter() - t0, margin=0.5)  # noqa: E731
        source = None
        on_close = _publishes_on_close(sink_type, options)
        target = _columnar_target(pstt, run)
        if target is not None:
            candidate = sink_type.factory(pstt.sink_context(sink_type, options, run))
            if candidate.accepts_arrow(None):
                # a sink that publishes as it writes needs the check before its first batch
                check = "after" if on_close else "before"
                source = open_columnar(target, run, control, seconds(), check)
        if source is not None:
            assert candidate is not None
            try:
                if candidate.accepts_arrow(source.schema):
                    sink = candidate
                    sink.open(source.schema.names)
                    log.info("run %s reads Arrow batches (columnar path)", run.export_id)
                    for part in source.batches():
                        sink.write_arrow(part)
                        rows += part.num_rows
                        gates.check_batch(schedule, rows)
                        _progress(rows, sink, progress, checkpoint)
                    _check(control)
            except SourceRefused as exc:
                # a SQLite column of mixed types (see columnar.source): a sink that publishes
                # only when it closes has shown nothing yet, so its output is undone and the
                # row path reads the result; a sink that publishes as it writes had the check
                # before its first batch, and must not send rows twice
                if not on_close:
                    raise PsttError(f"the columnar reader refused the result after {rows} rows: "
                                    f"{exc}; not restarted on the row path, since rows were "
                                    "already delivered") from exc
                assert sink is not None
                sink.abort(exc)
                note = (f"the columnar reader refused the result after {rows} rows: {exc}; "
                        "run restarted on the row path")
                log.warning("run %s: %s", run.export_id, note)
                record.extra["columnar_fallback"] = cap_error(note)
                sink = candidate = None
                rows = 0
            finally:
                source.close()
        if sink is None:
            engine = pstt.databases.engine(schedule.connection)
            with engine.connect() as conn, bounded(conn, control, seconds()):
                conn = conn.execution_options(stream_results=True, yield_per=batch)
                stmt, params, plan = statement(conn, run)
                result = conn.execute(stmt, params)
                if not result.returns_rows:
                    raise PsttError("the query returned no result set (is it a SELECT?)")
                _check(control)
                columns = list(result.keys())
                tracker = incremental.Tracker(plan, columns) if plan is not None else None
                sink = candidate or sink_type.factory(pstt.sink_context(sink_type, options, run))
                sink.open(columns)
                for part in batches(result, batch):
                    sink.write(part)
                    if tracker is not None:
                        tracker.see(part)
                    rows += len(part)
                    gates.check_batch(schedule, rows)
                    _progress(rows, sink, progress, checkpoint)
                    _check(control)
                result.close()
        gates.check_result(schedule, rows)  # before the delivery becomes visible
        outcome: SinkResult = sink.close()
        record.status = outcome.status or "success"
        record.error = outcome.error
        record.extra.update(outcome.fields)
    except Exception as exc:  # every failure becomes a failed record, never a crash
        # a query cancelled by the watchdog or a signal fails with the driver's words; the
        # record says why it was stopped
        if not control.stopped and control.timeout \
                and time.perf_counter() - t0 >= control.timeout:
            control.stop(TIMEOUT, f"timed out after {control.timeout:g} s")  # the database's
        record.status = "interrupted" if control.kind == INTERRUPT else "failed"
        record.error = control.reason if control.stopped else _error_text(exc)
        if isinstance(exc, gates.GateStopped) and not control.stopped:
            record.status = exc.status
            record.extra["rows_delivered"] = 0
        if sink is not None:
            try:
                sink.abort(exc)
            except Exception:  # abort must not mask the original error
                log.exception("sink abort failed for run %s", run.export_id)
            try:
                record.extra.update(sink.partial_fields())
            except Exception:
                log.exception("sink partial_fields failed for run %s", run.export_id)
    finally:
        control.close()
    if schedule.incremental is not None:
        record.extra.update(incremental.record_fields(run, tracker))
    record.rows = rows
    if "rows_delivered" not in record.extra and record.status in DELIVERED_BY_STATUS:
        # a sink that delivers part of the rows says how many (Kafka: messages acknowledged)
        record.extra["rows_delivered"] = rows if record.status == "success" else 0
    record.finished_at = iso(utcnow())
    record.duration_sec = round(time.perf_counter() - t0, 3)
    return record


def _progress(rows: int, sink: Sink, progress: Progress | None,
              checkpoint: Checkpoint | None) -> None:
    if progress:
        progress(rows)
    if checkpoint:
        checkpoint(rows, sink.progress_fields())


def _publishes_on_close(sink_type: Any, options: Any) -> bool:
    """Whether nothing a sink of ``sink_type`` writes is visible before ``close()``
    (:attr:`~pstt_core.sinks.SinkType.streams_rows`)."""
    return sink_type.streams_rows is None or sink_type.streams_rows(options) is None


def _columnar_target(pstt: Pstt, run: RunInfo) -> AdbcTarget | None:
    """The ADBC connection when the columnar path may serve the run, else ``None``. Queries
    with parameters and incremental schedules keep the row path: their values are bound per
    dialect (:mod:`.parameters`) and the watermark follows the delivered rows
    (:mod:`.incremental`), both on SQLAlchemy's connection."""
    if pstt.settings["PSTT_COLUMNAR"] == "off" or run.schedule.incremental is not None \
            or referenced(run.schedule.query) or not _one_select(run.schedule.query):
        return None
    return pstt.databases.adbc_target(run.schedule.connection)


_COMMENTS = re.compile(r"(\s+|--[^\n]*|/\*.*?\*/)+", re.S)


def _one_select(query: str) -> bool:
    """Whether the query is one SELECT / WITH / VALUES statement. The ADBC reader has none of
    the row path's guards (SQLite's authorizer refusing ATTACH, which ``VACUUM INTO`` needs to
    write a file outside the home): anything else keeps the row path and its guards."""
    text = _COMMENTS.sub(" ", query).strip().rstrip(";").strip()
    first = text.split(None, 1)[0].lower() if text else ""
    return first in ("select", "with", "values") and ";" not in text


def open_columnar(target: AdbcTarget, run: RunInfo, control: RunControl, seconds: float | None,
                  check: str = "before") -> ArrowSource | None:
    """The run's result as Arrow batches from ``target`` (:func:`_columnar_target`) when the
    columnar reader can read it (types it renders), else ``None``."""
    schedule = run.schedule
    query = positional(schedule.query, {}, target.backend)
    if query is None:
        return None
    from .columnar.types import unsupported_columns

    source = ArrowSource(target, control, seconds)
    log.info("run %s: ADBC read of %s started", run.export_id, target.backend)
    try:
        started = source.start(query[0], query[1], schedule.batch_size, check)
    except (MixedTypes, Unverified) as exc:
        log.info("run %s takes the row path: %s", run.export_id, exc)
        source.close()
        return None
    except SourceFailed as exc:
        log.info("run %s takes the row path: the columnar read failed (%s)", run.export_id,
                 cap_error(str(exc)))
        source.close()
        return None
    if not started:
        source.close()
        raise RunStopped(control.reason or "stopped")
    unsupported = unsupported_columns(source.schema)
    if unsupported:
        log.info("run %s takes the row path: column(s) %s", run.export_id, ", ".join(unsupported))
        source.close()
        return None
    return source


def _check(control: RunControl) -> None:
    if control.stopped:
        raise RunStopped(control.reason or "stopped")


def run_timeout(pstt: Pstt, run: RunInfo) -> float | None:
    """The run's bound in seconds: the schedule's ``timeout_sec``, else the setting."""
    return run.schedule.timeout_sec or pstt.settings["PSTT_RUN_TIMEOUT_SEC"] or None
